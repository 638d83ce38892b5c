"""
Remote storage targets: the local target API over XRootD, WebDAV, S3 and more.

:mod:`~pipekit.target.remote.base` (file system and targets), :mod:`~.transfer` (atomic,
verified uploads and downloads), :mod:`~.interface` (bases, retries, error classification),
:mod:`~.gfal` and :mod:`~.fsspec` (backends), :mod:`~.isolation` (requests in a helper process),
:mod:`~.cache` (the local cache), :mod:`~.config` (file systems from law.cfg sections). Names and
backends are imported only when used (the request helper imports just its backend).
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "RemoteFileSystem",
    "RemoteTarget",
    "RemoteFileTarget",
    "RemoteDirectoryTarget",
    "RemoteFileInterface",
    "RemoteStat",
    "RemoteCache",
]

_MODULES = {
    "pipekit.target.remote.base": ("RemoteDirectoryTarget", "RemoteFileSystem",
                                   "RemoteFileTarget", "RemoteTarget"),
    "pipekit.target.remote.cache": ("RemoteCache",),
    "pipekit.target.remote.interface": ("RemoteFileInterface", "RemoteStat"),
}
_LAZY = {name: module for module, names in _MODULES.items() for name in names}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'pipekit.target.remote' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
