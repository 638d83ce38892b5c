"""
Remote storage targets: the local target API over XRootD, WebDAV, S3 and more.

:mod:`~pipekit.target.remote.base` (file system and targets), :mod:`~.transfer` (atomic,
verified uploads and downloads), :mod:`~.interface` (bases, retries, error classification),
:mod:`~.gfal` and :mod:`~.fsspec` (backends), :mod:`~.cache` (the local cache), :mod:`~.config`
(file systems from law.cfg sections). Backends are imported only when used.
"""

from pipekit.target.remote.base import (
    RemoteDirectoryTarget,
    RemoteFileSystem,
    RemoteFileTarget,
    RemoteTarget,
)
from pipekit.target.remote.cache import RemoteCache
from pipekit.target.remote.interface import RemoteFileInterface, RemoteStat

__all__ = [
    "RemoteFileSystem",
    "RemoteTarget",
    "RemoteFileTarget",
    "RemoteDirectoryTarget",
    "RemoteFileInterface",
    "RemoteStat",
    "RemoteCache",
]
