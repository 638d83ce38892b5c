"""
law's ``wlcg`` package: :class:`WLCGFileSystem` and its targets, configured from law.cfg.

``[wlcg_fs]`` is the default section (``[target] default_wlcg_fs`` names another one); named
sections such as ``[wlcg_fs_analysis]`` fall back to ``[wlcg_fs]`` for options they do not set.
All options are described in :mod:`pipekit.target.remote.config`. The file interface is gfal2
when its bindings are importable, fsspec otherwise and always for ``s3://`` bases
(``file_interface: gfal|fsspec`` forces one)::

    import pipekit as law

    law.contrib.load("wlcg")            # as in law; importing pipekit.wlcg works as well
    target = law.wlcg.WLCGFileTarget("/results/hist.json", fs="wlcg_fs_analysis")
    target.dump({"entries": 42})        # uploaded to a temporary name, verified, renamed

Differences from law: a transient error during ``exists()`` is retried and then raised (law's
gfal interface reports the file as missing); uploads are atomic and verified by default.
"""

from __future__ import annotations

from typing import Any

from pipekit.target.remote.base import RemoteDirectoryTarget, RemoteFileTarget, RemoteTarget
from pipekit.target.remote.config import ConfiguredFileSystem

__all__ = ["WLCGFileSystem", "WLCGTarget", "WLCGFileTarget", "WLCGDirectoryTarget"]


class WLCGFileSystem(ConfiguredFileSystem):
    """Grid storage (XRootD, WebDAV, SRM, ... and S3) configured from ``[wlcg_fs]``-like sections."""

    default_section = "wlcg_fs"
    default_section_option = "default_wlcg_fs"


class WLCGTarget(RemoteTarget):
    """
    A path on a :class:`WLCGFileSystem`; *fs* is an instance, a section name, or None for the
    default section.
    """

    def __init__(self, path: str, fs: Any = None, **kwargs: Any):
        if fs is None or isinstance(fs, str):
            fs = WLCGFileSystem.from_section(fs)
        super().__init__(path, fs=fs, **kwargs)

    @classmethod
    def file_class(cls) -> type:
        return WLCGFileTarget

    @classmethod
    def directory_class(cls) -> type:
        return WLCGDirectoryTarget


class WLCGFileTarget(WLCGTarget, RemoteFileTarget):
    """A file on WLCG storage."""


class WLCGDirectoryTarget(WLCGTarget, RemoteDirectoryTarget):
    """A directory on WLCG storage."""
