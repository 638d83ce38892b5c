"""
Copy and move between targets on any two file systems.

Same file system: the file system's own copy. Local <-> remote: the remote file system's
``copy_to_local`` / ``copy_from_local``. Remote -> other remote: through a local temporary file.
"""

from __future__ import annotations

from typing import Any

from pipekit.target.file import FileSystemTarget

__all__ = ["copy_target", "move_target"]


def _is_local(target: FileSystemTarget) -> bool:
    from pipekit.target.local import LocalFileSystem

    return isinstance(target.fs, LocalFileSystem)


def copy_target(src: FileSystemTarget, dst: FileSystemTarget, perm: int | None = None, **kwargs: Any) -> str:
    """Copy *src* to *dst* (atomically at the destination); returns the destination path."""
    if src.fs == dst.fs:
        return dst.fs.copy(src.path, dst.path, perm=perm, **kwargs)
    if _is_local(dst):
        return src.fs.copy_to_local(src.path, dst.path, **kwargs)
    if _is_local(src):
        return dst.fs.copy_from_local(src.path, dst.path, perm=perm, **kwargs)
    with src.localize("r") as tmp:
        return dst.fs.copy_from_local(tmp.path, dst.path, perm=perm, **kwargs)


def move_target(src: FileSystemTarget, dst: FileSystemTarget, perm: int | None = None, **kwargs: Any) -> str:
    """Move *src* to *dst*: a rename on the same file system, else copy then remove."""
    if src.fs == dst.fs:
        return dst.fs.move(src.path, dst.path, **kwargs)
    path = copy_target(src, dst, perm=perm, **kwargs)
    src.remove(silent=False)
    return path
