"""
Targets on remote storage that is also mounted locally (EOS, CVMFS-like fuse mounts, NFS):
:class:`MirroredFileTarget` and :class:`MirroredDirectoryTarget`.

Reads (``exists``, ``load``, ``localize("r")``, ``open("r")``, ``listdir``, collections) use the
local mount when it is there, which is much cheaper than a remote request, and the remote
storage otherwise (on a batch node without the mount). Writes go to the remote storage (the mount
is treated as read-only unless ``local_read_only=False``), after which the target waits until the
file shows up in the mount (``local_sync``) so that a following read sees it.

Paths are relative to both roots: with ``[local_fs_eos] base: /eos/user/me`` and a remote file
system whose base is ``root://eosuser.cern.ch//eos/user/me``, ``MirroredFileTarget("a/b.json",
remote_fs=..., local_fs="local_fs_eos")`` is ``/eos/user/me/a/b.json`` locally.

Whether the mount is there is decided once per process by checking its top directory
(``local_root_depth`` path components, default 1: ``/eos``). When it is, a collection of mirrored
targets is checked with one *local* listing per directory.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from typing import Any, Iterator

import luigi

from pipekit.errors import TargetError
from pipekit.target.file import FileSystemDirectoryTarget, FileSystemFileTarget, FileSystemTarget
from pipekit.target.local import LocalDirectoryTarget, LocalFileSystem, LocalFileTarget
from pipekit.target.remote.base import RemoteDirectoryTarget, RemoteFileSystem, RemoteFileTarget

__all__ = ["MirroredTarget", "MirroredFileTarget", "MirroredDirectoryTarget", "local_root_exists"]

_roots: dict[str, bool] = {}
_roots_lock = threading.Lock()


def local_root_exists(path: str, depth: int = 1) -> bool:
    """Whether the top *depth* components of absolute *path* exist (cached per process)."""
    parts = os.path.abspath(path).split(os.sep)
    root = os.sep.join(parts[: depth + 1]) or os.sep
    with _roots_lock:
        if root not in _roots:
            _roots[root] = os.path.exists(root)
        return _roots[root]


def _local_fs(local_fs: Any) -> LocalFileSystem:
    """A local file system from an instance, a law.cfg section name (its ``base``) or None."""
    if isinstance(local_fs, LocalFileSystem):
        return local_fs
    return LocalFileSystem.from_section(local_fs or None)


class MirroredTarget(FileSystemTarget):
    """
    A path on remote storage with a local mirror. Give *remote_target* or *remote_fs*, and
    optionally *local_target* or *local_fs* (instance or law.cfg section; default
    ``[target] default_local_fs``). *local_read_only*: write to the remote side (default);
    *local_sync*: after a write, wait up to *sync_timeout* s for the mirror to show it.
    """

    def __init__(
        self,
        path: str,
        remote_target: Any = None,
        remote_fs: RemoteFileSystem | None = None,
        local_target: Any = None,
        local_fs: Any = None,
        local_read_only: bool = True,
        local_sync: bool = True,
        sync_timeout: float = 45.0,
        local_root_depth: int | None = None,
        **kwargs: Any,
    ):
        rel = str(path).lstrip("/")
        is_file = self.type == "f"
        if remote_target is None:
            if remote_fs is None:
                raise ValueError(f"{type(self).__name__} needs remote_target or remote_fs")
            remote_target = (RemoteFileTarget if is_file else RemoteDirectoryTarget)(
                "/" + rel, fs=remote_fs
            )
        if local_target is None:
            lfs = _local_fs(local_fs)
            # without a base (the default file system) the mirror is the remote path itself
            local_cls = LocalFileTarget if is_file else LocalDirectoryTarget
            local_target = local_cls(rel if lfs.base else "/" + rel, fs=lfs)
        self.remote_target = remote_target
        self.local_target = local_target
        self.local_read_only = local_read_only
        self.local_sync = local_sync
        self.sync_timeout = sync_timeout
        self.local_root_depth = (
            local_root_depth
            if local_root_depth is not None
            else getattr(local_target.fs, "local_root_depth", 1)
        )
        luigi.Target.__init__(self)

    # -- which side -----------------------------------------------------------------------------

    def mirror_available(self) -> bool:
        """Whether the local mount is there (checked once per process)."""
        return local_root_exists(self.local_target.path, self.local_root_depth)

    def _local_exists(self) -> bool:
        return self.mirror_available() and self.local_target.exists()

    def _read_side(self) -> FileSystemTarget:
        return self.local_target if self._local_exists() else self.remote_target

    def _write_side(self) -> FileSystemTarget:
        return self.remote_target if self.local_read_only else self.local_target

    @property
    def fs(self) -> Any:  # type: ignore[override]
        return self.local_target.fs if self.mirror_available() else self.remote_target.fs

    @property
    def path(self) -> str:  # type: ignore[override]
        return self.local_target.path if self.mirror_available() else self.remote_target.path

    def _wait_for_mirror(self, present: bool) -> None:
        if not (self.local_read_only and self.local_sync and self.mirror_available()):
            return
        deadline = time.monotonic() + self.sync_timeout
        while self.local_target.exists() != present:
            if time.monotonic() > deadline:
                raise TargetError(
                    f"{self.local_target.path} did not {'appear' if present else 'disappear'} in "
                    f"the local mirror within {self.sync_timeout:g} s after writing "
                    f"{self.remote_target.uri()}; raise sync_timeout or pass local_sync=False"
                )
            time.sleep(0.2)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(remote={self.remote_target.uri()}, local={self.local_target.path})"

    def _mirrored(self, cls: type, remote: Any, local: Any) -> MirroredTarget:
        return cls(
            remote.path,
            remote_target=remote,
            local_target=local,
            local_read_only=self.local_read_only,
            local_sync=self.local_sync,
            sync_timeout=self.sync_timeout,
            local_root_depth=self.local_root_depth,
        )

    @classmethod
    def file_class(cls) -> type:
        return MirroredFileTarget

    @classmethod
    def directory_class(cls) -> type:
        return MirroredDirectoryTarget

    @property
    def parent(self) -> MirroredDirectoryTarget | None:  # type: ignore[override]
        rp, lp = self.remote_target.parent, self.local_target.parent
        return None if rp is None or lp is None else self._mirrored(MirroredDirectoryTarget, rp, lp)

    # -- reads ----------------------------------------------------------------------------------

    def exists(self) -> bool:
        return self._local_exists() or self.remote_target.exists()

    def stat(self) -> Any:
        return self._read_side().stat()

    def uri(self, **kwargs: Any) -> str:
        return self._read_side().uri(**kwargs)

    def copy_to(self, dst: Any, perm: int | None = None, **kwargs: Any) -> str:
        return self._read_side().copy_to(dst, perm=perm, **kwargs)

    def copy_to_local(self, dst: Any = None, **kwargs: Any) -> str:
        return self._read_side().copy_to_local(dst, **kwargs)

    @contextlib.contextmanager
    def localize(self, mode: str = "r", perm: int | None = None, **kwargs: Any) -> Iterator[Any]:
        side = self._read_side() if mode == "r" else self._write_side()
        with side.localize(mode, perm=perm, **kwargs) as tmp:
            yield tmp
        if mode != "r":
            self._wait_for_mirror(True)

    # -- writes ---------------------------------------------------------------------------------

    def remove(self, silent: bool = True, **kwargs: Any) -> bool:
        removed = self._write_side().remove(silent=silent, **kwargs)
        self._wait_for_mirror(False)
        return removed

    def chmod(self, perm: int | None, silent: bool = False) -> bool:
        return self._write_side().chmod(perm, silent=silent)

    def copy_from(self, src: Any, perm: int | None = None, **kwargs: Any) -> str:
        path = self._write_side().copy_from(src, perm=perm, **kwargs)
        self._wait_for_mirror(True)
        return path

    def copy_from_local(self, src: Any, **kwargs: Any) -> str:
        path = self._write_side().copy_from_local(src, **kwargs)
        self._wait_for_mirror(True)
        return path

    def move_to(self, dst: Any, perm: int | None = None, **kwargs: Any) -> str:
        path = self._write_side().move_to(dst, perm=perm, **kwargs)
        self._wait_for_mirror(False)
        return path

    def makedirs(self, perm: int | None = None) -> None:
        self._write_side().makedirs(perm=perm)


class MirroredFileTarget(MirroredTarget, FileSystemFileTarget):
    """A remote file with a local mirror."""

    def open(self, mode: str = "r", **kwargs: Any):  # noqa: A003
        if "r" in mode and not any(c in mode for c in "wax+"):
            return self._read_side().open(mode, **kwargs)
        return _SyncedFile(self, self._write_side().open(mode, **kwargs))

    def touch(self, perm: int | None = None, **kwargs: Any) -> None:
        self._write_side().touch(perm=perm, **kwargs)
        self._wait_for_mirror(True)


class MirroredDirectoryTarget(MirroredTarget, FileSystemDirectoryTarget):
    """A remote directory with a local mirror."""

    def child(self, path: str, type: str | None = None, mkdir: bool = False, **kwargs: Any) -> Any:  # noqa: A002
        if type is None:
            side = self._read_side()
            type = "d" if side.fs.isdir(side.fs.join(side.path, str(path))) else "f"  # noqa: A001
        remote = self.remote_target.child(path, type=type)
        local = self.local_target.child(path, type=type)
        target = self._mirrored(
            MirroredFileTarget if type == "f" else MirroredDirectoryTarget, remote, local
        )
        if mkdir:
            (target if type == "d" else target.parent).touch()
        return target

    def listdir(
        self, pattern: str | None = None, type: str | None = None, **kwargs: Any
    ) -> list[str]:  # noqa: A002
        return self._read_side().listdir(pattern=pattern, type=type, **kwargs)

    def glob(self, pattern: str, **kwargs: Any) -> list[str]:
        return self._read_side().glob(pattern, **kwargs)

    def walk(self, max_depth: int = -1, **kwargs: Any):
        return self._read_side().walk(max_depth=max_depth, **kwargs)

    def touch(self, perm: int | None = None, **kwargs: Any) -> None:
        self._write_side().touch(perm=perm, **kwargs)
        self._wait_for_mirror(True)


class _SyncedFile:
    """A file opened for writing through a mirrored target: waits for the mirror after close."""

    def __init__(self, target: MirroredTarget, f: Any):
        self._target = target
        self._f = f

    def __getattr__(self, name: str) -> Any:
        return getattr(self._f, name)

    def close(self) -> None:
        self._f.close()
        self._target._wait_for_mirror(True)

    def __enter__(self) -> _SyncedFile:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            self.close()
        else:
            getattr(self._f, "discard", self._f.close)()
