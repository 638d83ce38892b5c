"""
:class:`RemoteCache`: local copies of remote files, shared by all processes on a machine.

``localize("r")``, ``load()`` and ``open("r")`` of a remote target whose file system has a cache
read a local copy instead of downloading the file every time. A copy is used only while it is
valid: its size and modification time match the remote file's (one stat per use; mtimes may
differ by ``mtime_patience`` seconds). Otherwise it is downloaded again.

Layout below ``cache_root``::

    <fs name>_<hash of the base>/data/<remote path>   the copies (mtime = remote mtime)
    <fs name>_<hash of the base>/locks/<hash>.lock    one lock file per remote path
    <fs name>_<hash of the base>/tmp/                 downloads in progress

Several processes may use one cache at once. Each entry has a lock file (``flock``): a reader
holds it shared while it uses the copy, a downloader holds it exclusive, so two processes asking
for the same file at the same moment download it once and both read complete data. The lock
file's mtime records the last use; when the data exceeds ``max_size`` the least recently used
copies that nobody holds are deleted (least recently used first). Locks die with their process,
so a killed job never leaves a cache entry locked.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import shutil
import time
import uuid
from collections import Counter
from typing import Any, Callable, Iterator

from pipekit.errors import RemoteError

__all__ = ["RemoteCache"]


class RemoteCache:
    """
    A cache directory for one remote file system. *max_size* in bytes (0: unlimited);
    *lock_timeout* seconds to wait for another process's download of the same file.
    """

    def __init__(
        self,
        root: str,
        fs_key: str,
        max_size: float = 0,
        mtime_patience: float = 1.0,
        file_perm: int | None = None,
        dir_perm: int | None = None,
        lock_timeout: float = 600.0,
    ):
        self.root = os.path.abspath(os.path.expandvars(os.path.expanduser(root)))
        self.base = os.path.join(self.root, fs_key)
        self.max_size = float(max_size or 0)
        self.mtime_patience = float(mtime_patience)
        self.file_perm = file_perm
        self.dir_perm = dir_perm
        self.lock_timeout = float(lock_timeout)
        #: what this process did: hits, downloads, evictions
        self.stats: Counter[str] = Counter()

    def __repr__(self) -> str:
        return f"RemoteCache({self.base}, max_size={self.max_size:g})"

    # -- paths ----------------------------------------------------------------------------------

    def cache_path(self, path: str) -> str:
        """Where the copy of remote *path* lives."""
        return os.path.join(self.base, "data", path.lstrip("/"))

    def _lock_path(self, path: str) -> str:
        digest = hashlib.sha1(path.encode()).hexdigest()
        return os.path.join(self.base, "locks", digest[:2], digest + ".lock")

    def _makedirs(self, path: str) -> None:
        if not os.path.isdir(path):
            os.makedirs(path, exist_ok=True)
            if self.dir_perm is not None:
                with contextlib.suppress(OSError):
                    os.chmod(path, self.dir_perm)

    # -- use ------------------------------------------------------------------------------------

    def is_valid(self, path: str, remote_stat: Any) -> bool:
        """Whether the copy of *path* matches the remote size and mtime."""
        try:
            st = os.stat(self.cache_path(path))
        except (FileNotFoundError, NotADirectoryError):
            return False
        return (
            st.st_size == remote_stat.st_size
            and abs(st.st_mtime - remote_stat.st_mtime) <= self.mtime_patience
        )

    @contextlib.contextmanager
    def localize(
        self, path: str, remote_stat: Any, download: Callable[[str], Any]
    ) -> Iterator[str]:
        """
        Yield the local copy of remote *path* (stat *remote_stat*), calling ``download(local)``
        to fetch it when there is no valid copy. The copy is held (shared lock) during the block.
        """
        lock_path = self._lock_path(path)
        self._makedirs(os.path.dirname(lock_path))
        downloads = self.stats["downloads"]
        with open(lock_path, "a+") as lock:
            self._flock(lock, fcntl.LOCK_SH, path)
            try:
                if self.is_valid(path, remote_stat):
                    self.stats["hits"] += 1
                else:
                    # exclusive for the download; whoever gets it first downloads, the others
                    # find a valid copy when they get it
                    self._flock(lock, fcntl.LOCK_EX, path)
                    if self.is_valid(path, remote_stat):
                        self.stats["hits"] += 1
                    else:
                        self._fetch(path, remote_stat, download)
                    self._flock(lock, fcntl.LOCK_SH, path)
                os.utime(lock_path)  # last use, for LRU eviction
                yield self.cache_path(path)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
        if self.stats["downloads"] > downloads and self.max_size > 0:
            self.evict()  # the cache only grows by downloads

    def _fetch(self, path: str, remote_stat: Any, download: Callable[[str], Any]) -> None:
        tmp_dir = os.path.join(self.base, "tmp")
        self._makedirs(tmp_dir)
        tmp = os.path.join(
            tmp_dir, f"{os.getpid()}-{uuid.uuid4().hex[:8]}-{os.path.basename(path)}"
        )
        dst = self.cache_path(path)
        try:
            download(tmp)
            os.utime(tmp, (time.time(), remote_stat.st_mtime))
            if self.file_perm is not None:
                os.chmod(tmp, self.file_perm)
            self._makedirs_for(dst)
            os.replace(tmp, dst)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.remove(tmp)
        self.stats["downloads"] += 1

    def _makedirs_for(self, dst: str) -> None:
        # a remote path that was a file before may now be a directory, and the other way round
        parent = os.path.dirname(dst)
        try:
            self._makedirs(parent)
        except (FileExistsError, NotADirectoryError):
            probe = parent
            while probe != self.base and not os.path.isdir(probe):
                if os.path.isfile(probe):
                    os.remove(probe)
                    break
                probe = os.path.dirname(probe)
            self._makedirs(parent)
        if os.path.isdir(dst):
            shutil.rmtree(dst)

    def _flock(self, lock: Any, mode: int, path: str) -> None:
        deadline = time.monotonic() + self.lock_timeout
        while True:
            try:
                fcntl.flock(lock, mode | fcntl.LOCK_NB)
                return
            except OSError as e:
                if e.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
            if time.monotonic() > deadline:
                raise RemoteError(
                    f"the cache entry of {path} in {self.base} stayed locked by another process "
                    f"for {self.lock_timeout:g} s; a download there hangs, or raise cache_lock_timeout"
                )
            time.sleep(0.02)

    # -- size control ---------------------------------------------------------------------------

    def entries(self) -> list[tuple[str, str, int, float]]:
        """``(remote path, local path, size, last use)`` of every copy in the cache."""
        data = os.path.join(self.base, "data")
        out = []
        for dirpath, _, files in os.walk(data):
            for name in files:
                local = os.path.join(dirpath, name)
                remote = "/" + os.path.relpath(local, data)
                try:
                    size = os.stat(local).st_size
                except FileNotFoundError:
                    continue
                try:
                    used = os.stat(self._lock_path(remote)).st_mtime
                except FileNotFoundError:
                    used = 0.0
                out.append((remote, local, size, used))
        return out

    def size(self) -> int:
        return sum(e[2] for e in self.entries())

    def evict(self) -> int:
        """Delete least recently used copies nobody holds until the data fits in *max_size*."""
        if self.max_size <= 0:
            return 0
        entries = self.entries()
        total = sum(e[2] for e in entries)
        removed = 0
        for remote, local, size, _ in sorted(entries, key=lambda e: e[3]):
            if total <= self.max_size:
                break
            lock_path = self._lock_path(remote)
            self._makedirs(os.path.dirname(lock_path))
            with open(lock_path, "a+") as lock:
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    continue  # in use by some process right now
                with contextlib.suppress(FileNotFoundError):
                    os.remove(local)
                    total -= size
                    removed += 1
        self.stats["evictions"] += removed
        return removed

    def clear(self) -> None:
        """Remove every copy (entries in use by other processes included)."""
        shutil.rmtree(self.base, ignore_errors=True)
