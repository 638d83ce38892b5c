"""
Remote storage with the local target API: :class:`RemoteFileSystem` and the remote targets.

A :class:`RemoteFileSystem` implements :class:`pipekit.target.file.FileSystem` on top of a
:class:`~pipekit.target.remote.interface.RemoteFileInterface` (gfal2 or fsspec), so
``RemoteFileTarget`` has exactly the API of ``LocalFileTarget``: ``exists``, ``stat``,
``listdir``, ``glob``, ``walk``, ``touch``, ``remove``, ``copy_to``/``copy_from`` (and
``_local``), ``move_to``, ``localize``, ``open``, ``load``/``dump``. Paths are absolute within the
file system (``/store/a.json``); :meth:`RemoteFileSystem.uri` gives the full URI.

What it adds over a thin wrapper:

- **atomic writes** (:mod:`pipekit.target.remote.transfer`): uploads go to a hidden temporary
  name next to the destination and are renamed into place once verified (on S3, where a PUT is
  atomic by itself, directly). A transfer that dies half-way never leaves a file at the final
  path.
- **verified copies**: by the server's checksum where it offers one (adler32 on XRootD), else by
  size (``validate_copy: false`` switches this off).
- **retries**: every request goes through the interface's retry loop; a transient error during
  ``exists`` is raised after the retries, never reported as "missing".
- **one listing per directory**: ``existing_names`` and ``walk`` list each directory once, so a
  collection of 1000 files in one directory costs one request.
- **a local cache** (:mod:`pipekit.target.remote.cache`) for ``localize("r")``, ``load`` and
  ``open("r")`` when ``use_cache`` is on.
"""

from __future__ import annotations

import contextlib
import fnmatch
import os
import posixpath
import shutil
from typing import Any, Iterator

from pipekit.errors import (
    RemoteError,
    TargetExistsError,
    TargetMissingError,
    UsageError,
)
from pipekit.target.file import (
    FileSystem,
    FileSystemDirectoryTarget,
    FileSystemFileTarget,
    FileSystemTarget,
    split_tmp_name,
)
from pipekit.target.remote.cache import RemoteCache
from pipekit.target.remote.interface import ListEntry, RemoteFileInterface, RemoteStat, split_scheme
from pipekit.target.remote.transfer import (
    RemoteAtomicFile,
    RemoteTransfers,
    adler32_file,
    remote_tmp_name,
)

__all__ = [
    "RemoteFileSystem",
    "RemoteTarget",
    "RemoteFileTarget",
    "RemoteDirectoryTarget",
    "RemoteAtomicFile",
    "remote_tmp_name",
    "adler32_file",
]


class RemoteFileSystem(RemoteTransfers, FileSystem):
    """
    A remote storage location reached through *file_interface*. *validate_copy*: verify
    transfers (checksum where offered, else size); *cache*: a :class:`RemoteCache` used by
    ``localize("r")`` / ``load`` / ``open("r")`` when *use_cache* is on (law's ``cache_config``
    dict is accepted as well).
    """

    name = "remote_fs"
    lists_cheaply = True

    def __init__(
        self,
        file_interface: RemoteFileInterface,
        name: str | None = None,
        validate_copy: bool = True,
        use_cache: bool = False,
        cache: RemoteCache | None = None,
        **kwargs: Any,
    ):
        self.file_interface = file_interface
        if name:
            self.name = name
        self.validate_copy = validate_copy
        if cache is None and (kwargs.get("cache_config") or {}).get("root"):
            cache = _law_cache(kwargs["cache_config"], self.name, file_interface.base[0])
        self.cache = cache
        self.use_cache = bool(use_cache and cache is not None)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name}, {self.file_interface!r})"

    def __eq__(self, other: Any) -> bool:
        return (
            isinstance(other, RemoteFileSystem)
            and type(other) is type(self)
            and other.name == self.name
            and other.base == self.base
        )

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.name, tuple(self.base)))

    @property
    def base(self) -> list[str]:
        """The base URLs of the file system."""
        return self.file_interface.base

    @property
    def op_counts(self) -> Any:
        """Requests sent so far by this process, per operation (``{"listdir": 1, ...}``)."""
        return self.file_interface.op_counts

    # -- paths ----------------------------------------------------------------------------------

    def abspath(self, path: str) -> str:
        """The absolute path in the file system; a full URI below one of the bases is accepted."""
        path = str(path)
        if split_scheme(path)[0]:
            for base in self.base + [b for bs in self.file_interface.bases.values() for b in bs]:
                stem = base.rstrip("/")
                if path == stem or path.startswith(stem + "/"):
                    path = path[len(stem) :]
                    break
            else:
                raise UsageError(
                    f"{path} is not below any base of {self!r}; pass a path "
                    f"relative to the base, or use a file system with that base"
                )
        return posixpath.normpath("/" + path.lstrip("/"))

    def uri(
        self,
        path: str,
        base_name: str | None = None,
        return_all: bool = False,
        scheme: bool = True,
        **kwargs: Any,
    ) -> Any:
        """The URI of *path* (on the bases of operation *base_name*; all of them with *return_all*)."""
        path = self.abspath(path)
        fi = self.file_interface
        uris = [fi.uri(path, base=b) for b in fi.bases_for(base_name)]
        if not scheme:  # as law: drop "scheme://", keep host and path
            uris = [split_scheme(u)[1][2:] if split_scheme(u)[0] else u for u in uris]
        return uris if return_all else uris[0]

    # -- queries --------------------------------------------------------------------------------

    def exists(self, path: str, stat: bool = False) -> Any:
        st = self.file_interface.exists(path)
        if st is None:
            return False
        return st if stat else True

    def stat(self, path: str) -> RemoteStat:
        return self.file_interface.stat(path)

    def isdir(self, path: str) -> bool:
        st = self.file_interface.exists(path)
        return bool(st is not None and st.isdir)

    def isfile(self, path: str) -> bool:
        st = self.file_interface.exists(path)
        return bool(st is not None and not st.isdir)

    def _entries(self, path: str) -> list[ListEntry]:
        entries = self.file_interface.listdir(path)
        for e in entries:
            if e.isdir is None:  # backend could not tell in the listing: ask
                e.isdir = self.isdir(self.join(path, e.name))
        return entries

    def listdir(self, path: str, pattern: str | None = None, type: str | None = None) -> list[str]:  # noqa: A002
        if not type:
            names = self.file_interface.listdir_names(path)
            self._stale_sweep().seen(path, names)
            return [n for n in names if not pattern or fnmatch.fnmatch(n, pattern)]
        entries = self._entries(path)
        return [
            e.name
            for e in entries
            if (not pattern or fnmatch.fnmatch(e.name, pattern))
            and (type is None or e.isdir == (type == "d"))
        ]

    def existing_names(self, dirpath: str) -> set[str] | None:
        """Names in *dirpath* from one listing; None when it does not exist."""
        try:
            names = set(self.file_interface.listdir_names(dirpath))
        except TargetMissingError:
            return None
        self._stale_sweep().seen(dirpath, names)  # left by killed uploads? judged at the next write
        return names

    def walk(
        self, path: str, max_depth: int = -1
    ) -> Iterator[tuple[str, list[str], list[str], int]]:
        """Like :func:`os.walk` with depth: one listing per directory."""
        search = [(self.abspath(path), 0)]
        while search:
            base, depth = search.pop(0)
            try:
                entries = self._entries(base)
            except TargetMissingError:
                continue
            dirs = sorted(e.name for e in entries if e.isdir)
            files = sorted(e.name for e in entries if not e.isdir)
            yield base, dirs, files, depth
            if max_depth < 0 or depth < max_depth:
                search.extend((self.join(base, d), depth + 1) for d in dirs)

    # -- changes --------------------------------------------------------------------------------

    def chmod(self, path: str, perm: int | None, silent: bool = False) -> bool:
        if perm is None:
            return False
        try:
            return self.file_interface.chmod(path, perm)
        except TargetMissingError:
            if silent:
                return False
            raise

    def remove(self, path: str, recursive: bool = True, silent: bool = True) -> bool:
        st = self.file_interface.exists(path)
        if st is None:
            if silent:
                return False
            raise TargetMissingError(f"cannot remove {self.uri(path)}: it does not exist")
        if not st.isdir:
            self.file_interface.unlink(path)
        elif not recursive:
            self.file_interface.rmdir(path)
        elif not self.file_interface.remove_tree(path):
            self._remove_tree(path)
        return True

    def _remove_tree(self, path: str) -> None:
        for e in self._entries(path):
            child = self.join(path, e.name)
            if e.isdir:
                self._remove_tree(child)
            else:
                self.file_interface.unlink(child)
        self.file_interface.rmdir(path)

    def mkdir(
        self, path: str, perm: int | None = None, recursive: bool = True, silent: bool = True
    ) -> bool:
        if not self.file_interface.has_directories:
            return False  # key prefixes need not be created
        st = self.file_interface.exists(path)
        if st is not None:
            if silent and st.isdir:
                return False
            raise TargetExistsError(f"cannot create directory {self.uri(path)}: it exists")
        try:
            self.file_interface.mkdir(path, perm=perm, recursive=recursive)
        except (TargetExistsError, RemoteError):
            if silent and self.isdir(path):  # made meanwhile by another process: fine
                return False
            raise
        return True

    def touch(self, path: str, perm: int | None = None) -> None:
        """Create an empty file when *path* is missing (remote mtimes cannot be set: no-op else)."""
        if self.exists(path):
            return
        with self.localize_write(path, perm=perm) as tmp:
            open(tmp, "w").close()

    def copy(self, src: str, dst: str, perm: int | None = None, **kwargs: Any) -> str:
        """Copy within this file system; the destination appears atomically."""
        st = self.file_interface.exists(src)
        if st is None:
            raise TargetMissingError(f"cannot copy {self.uri(src)}: it does not exist")
        if st.isdir:
            with self.localize_read(src, is_dir=True) as tmp:
                return self.copy_from_local(tmp, dst, perm=perm)
        fi = self.file_interface

        def write(tmp: str) -> None:
            if not self._with_parent(dst, lambda: fi.copy(src, tmp)):
                # no server-side copy: relay through the local disk
                with self.localize_read(src) as local:
                    self._upload_file(local, tmp, dst)
            elif self.validate_copy:
                self._verify(tmp, st.st_size, lambda: fi.checksum(src), dst)

        self._write_then_rename(dst, write)
        self.chmod(dst, perm, silent=True)
        return dst

    def move(self, src: str, dst: str, **kwargs: Any) -> str:
        """Rename within this file system (a directory replaces an existing one safely)."""
        st = self.file_interface.exists(src)
        if st is None:
            raise TargetMissingError(f"cannot move {self.uri(src)}: it does not exist")
        if not self.file_interface.has_directories and st.isdir:
            self.copy(src, dst)
            self.remove(src)
            return dst
        self._replace(src, dst, st.isdir)
        return dst

    # -- localization and file objects ----------------------------------------------------------

    @contextlib.contextmanager
    def localize_read(
        self, path: str, is_dir: bool = False, cache: bool | None = None, **kwargs: Any
    ) -> Iterator[str]:
        """A local path holding the content of *path*: a cache copy, or a temporary download."""
        from pipekit.target.local import tmp_path

        use_cache = self.use_cache if cache is None else bool(cache and self.cache)
        if use_cache and not is_dir:
            st = self.stat(path)
            if st.isdir:
                raise UsageError(
                    f"{self.uri(path)} is a directory; localize it as a directory target"
                )
            with self.cache.localize(
                path, st, lambda local: self._download_file(path, local, st)
            ) as p:
                yield p
            return
        tmp = tmp_path(split_tmp_name(self.basename(path))[1])
        try:
            if is_dir:
                self.copy_to_local(path, tmp)
            else:  # no stat first: the download itself tells whether the file is there
                self._download_file(path, tmp)
            yield tmp
        finally:
            if os.path.isdir(tmp):
                shutil.rmtree(tmp, ignore_errors=True)
            elif os.path.exists(tmp):
                os.remove(tmp)

    @contextlib.contextmanager
    def localize_write(
        self,
        path: str,
        is_dir: bool = False,
        append: bool = False,
        perm: int | None = None,
        **kwargs: Any,
    ) -> Iterator[str]:
        """A local temporary path; uploaded atomically to *path* when the block succeeds."""
        from pipekit.target.local import tmp_path

        tmp = tmp_path(split_tmp_name(self.basename(path))[1])
        try:
            if append and self.exists(path):
                self.copy_to_local(path, tmp)
            elif is_dir:
                os.makedirs(tmp)
            yield tmp
            if os.path.exists(tmp):  # nothing written: leave the remote path as it was
                self.copy_from_local(tmp, path, perm=perm)
        finally:
            if os.path.isdir(tmp):
                shutil.rmtree(tmp, ignore_errors=True)
            elif os.path.exists(tmp):
                os.remove(tmp)

    def open(self, path: str, mode: str, perm: int | None = None, **kwargs: Any):  # noqa: A003
        """
        ``"r"``/``"rb"``: a local copy opened for reading (from the cache when enabled).
        ``"w"``/``"a"``/``"x"``: a :class:`RemoteAtomicFile`, uploaded when closed.
        """
        if any(c in mode for c in "wax"):
            if "x" in mode and self.exists(path):
                raise TargetExistsError(f"cannot create {self.uri(path)}: it exists")
            return RemoteAtomicFile(self, path, mode, perm=perm, **kwargs)
        with self.localize_read(path) as local:
            f = open(local, mode, **kwargs)  # noqa: SIM115
            if not self.use_cache:
                os.remove(local)  # the open file keeps its data; nothing to clean up later
            return f


def _law_cache(config: dict, name: str, base: str) -> RemoteCache:
    """A cache from law's ``cache_config`` dict (``root``, ``max_size`` in MB, perms, ...)."""
    import hashlib

    return RemoteCache(
        config["root"],
        f"{name}_{hashlib.sha1(base.encode()).hexdigest()[:8]}",
        max_size=float(config.get("max_size") or 0) * 1024**2,
        mtime_patience=float(config.get("mtime_patience", 1.0)),
        file_perm=config.get("file_perm"),
        dir_perm=config.get("dir_perm"),
    )


class RemoteTarget(FileSystemTarget):
    """A path on a :class:`RemoteFileSystem` (*fs* is required: remote targets have no default)."""

    def __init__(self, path: str, fs: RemoteFileSystem | None = None, **kwargs: Any):
        if fs is None:
            fs = self.default_fs() if callable(self.default_fs) else self.default_fs
        if not isinstance(fs, RemoteFileSystem):
            raise UsageError(
                f"{type(self).__name__}({path!r}) needs a remote file system as fs, got {fs!r}"
            )
        super().__init__(path, fs=fs, **kwargs)

    @classmethod
    def file_class(cls) -> type:
        return RemoteFileTarget

    @classmethod
    def directory_class(cls) -> type:
        return RemoteDirectoryTarget


class RemoteFileTarget(RemoteTarget, FileSystemFileTarget):
    """A file on remote storage."""

    def open(self, mode: str = "r", **kwargs: Any):  # noqa: A003
        """Like a local file's ``open``; ``"w"`` uploads atomically on close (parents created then)."""
        return self.fs.open(self.path, mode, **kwargs)

    def touch(self, perm: int | None = None, **kwargs: Any) -> None:
        """Create the file (and its parent directories) when missing."""
        self.fs.touch(self.path, perm=perm)


class RemoteDirectoryTarget(RemoteTarget, FileSystemDirectoryTarget):
    """A directory on remote storage."""
