"""
Path helpers analyses use to place files relative to their code: :func:`rel_path` and the
locations of pipekit itself (:func:`law_src_path`) and of ``$LAW_HOME`` (:func:`law_home_path`).
"""

from __future__ import annotations

import os

from pipekit.config import law_home_path

__all__ = ["rel_path", "law_src_path", "pipekit_src_path", "law_home_path"]


def rel_path(anchor: str, *paths: str) -> str:
    """
    *paths* joined to *anchor* (``$VAR`` and ``~`` expanded, made absolute); a file as anchor
    stands for its directory, so ``rel_path(__file__, "data")`` is next to the module.
    """
    base = os.path.abspath(os.path.expandvars(os.path.expanduser(str(anchor))))
    if os.path.isfile(base):
        base = os.path.dirname(base)
    return os.path.normpath(os.path.join(base, *(str(p) for p in paths)))


def pipekit_src_path(*paths: str) -> str:
    """The pipekit package directory, joined with *paths*."""
    return rel_path(os.path.dirname(os.path.abspath(__file__)), *paths)


#: law's name for :func:`pipekit_src_path`
law_src_path = pipekit_src_path
