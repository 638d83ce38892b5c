"""
Targets: one API over local disk and remote storage (see :mod:`pipekit.target.file`).
"""

from pipekit.target.collection import (
    FileCollection,
    NestedSiblingFileCollection,
    SiblingFileCollection,
    TargetCollection,
)
from pipekit.target.file import (
    FileSystem,
    FileSystemDirectoryTarget,
    FileSystemFileTarget,
    FileSystemTarget,
)
from pipekit.target.local import LocalDirectoryTarget, LocalFileSystem, LocalFileTarget, LocalTarget

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
