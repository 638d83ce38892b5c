"""
Targets: one API over local disk and remote storage (see :mod:`pipekit.target.file`).

Names are imported on first access, so that ``import pipekit.target.remote.gfal`` (the request
helper process of remote storage, :mod:`pipekit.target.remote.isolation`) does not import luigi.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "FileSystem",
    "FileSystemTarget",
    "FileSystemFileTarget",
    "FileSystemDirectoryTarget",
    "LocalFileSystem",
    "LocalTarget",
    "LocalFileTarget",
    "LocalDirectoryTarget",
    "TargetCollection",
    "FileCollection",
    "SiblingFileCollection",
    "NestedSiblingFileCollection",
]

_MODULES = {
    "pipekit.target.collection": ("FileCollection", "NestedSiblingFileCollection",
                                  "SiblingFileCollection", "TargetCollection"),
    "pipekit.target.file": ("FileSystem", "FileSystemDirectoryTarget", "FileSystemFileTarget",
                            "FileSystemTarget"),
    "pipekit.target.local": ("LocalDirectoryTarget", "LocalFileSystem", "LocalFileTarget",
                             "LocalTarget"),
}
_LAZY = {name: module for module, names in _MODULES.items() for name in names}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'pipekit.target' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
