"""
law's ``gfal`` package: :class:`GFALFileInterface`, the gfal2-based file interface.

The implementation lives in :mod:`pipekit.target.remote.gfal`; see there (and
docs/remote-targets.md) for how to make the gfal2 bindings importable from a virtualenv.
"""

from __future__ import annotations

from pipekit.target.remote.gfal import GFALFileInterface

__all__ = ["GFALFileInterface"]
