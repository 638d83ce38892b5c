"""
Moving data between the local disk and remote storage, atomically and verified: the
:class:`RemoteTransfers` part of :class:`~pipekit.target.remote.base.RemoteFileSystem` and
:class:`RemoteAtomicFile` (a remote file opened for writing).

An upload goes to a hidden temporary name next to its destination (``.name.pktmp-<host>-<pid>-<id>.ext``)
and is renamed into place only after it was verified: by the server's checksum where it offers
one (adler32 on XRootD), else by size. On object stores (S3), where an upload is invisible until
complete, it goes straight to its key. A directory is uploaded into a temporary directory that
then replaces the destination as a whole (on object stores, which have no directories, the old
keys are removed and the new ones uploaded: each key is atomic, the set is not). Downloads land
in a temporary sibling and are renamed. Temporaries of killed or cut uploads are removed when
the same directory is written again (:mod:`pipekit.target.tmpnames`).
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import shutil
import weakref
import zlib
from typing import Any

from pipekit.errors import (
    RemoteError,
    TargetExistsError,
    TargetMissingError,
    TransientRemoteError,
)
from pipekit.target.atomic import AtomicFile
from pipekit.target.file import split_tmp_name
from pipekit.target.remote.interface import RemoteStat
from pipekit.target.tmpnames import StaleSweep, tmp_name

__all__ = ["RemoteTransfers", "RemoteAtomicFile", "remote_tmp_name", "adler32_file"]


def remote_tmp_name(path: str) -> str:
    """A hidden, unique temporary name next to remote *path* (extensions kept)."""
    dirname, basename = posixpath.split(path)
    return posixpath.join(dirname, tmp_name(basename))


#: the sweep of stale temporaries per file interface (see :mod:`pipekit.target.tmpnames`)
_sweeps: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def adler32_file(path: str, chunk: int = 1 << 20) -> str:
    """The adler32 checksum of a local file as 8 lower-case hex digits (XRootD's format)."""
    value = 1
    with open(path, "rb") as f:
        while True:
            data = f.read(chunk)
            if not data:
                break
            value = zlib.adler32(data, value)
    return f"{value & 0xFFFFFFFF:08x}"


class RemoteTransfers:
    """
    Uploads, downloads and renames of a remote file system (mixed into
    :class:`~pipekit.target.remote.base.RemoteFileSystem`, which provides ``file_interface``,
    ``validate_copy`` and the path helpers).
    """

    file_interface: Any
    validate_copy: bool

    def _replace(self, src: str, dst: str, isdir: bool) -> None:
        """Rename *src* to *dst*; an existing directory *dst* is moved aside first, then removed."""
        fi = self.file_interface
        if isdir and self.isdir(dst):
            old = remote_tmp_name(dst)
            fi.rename(dst, old)
            try:
                fi.rename(src, dst)
            except BaseException:
                fi.rename(old, dst)
                raise
            self.remove(old, silent=True)
            return
        self._with_parent(dst, lambda: fi.rename(src, dst))

    def _with_parent(self, path: str, func: Any) -> Any:
        """
        Run *func*; when it fails and the parent of *path* was missing, make sure the parent
        exists and run *func* once more.

        Servers say "missing parent" in many ways (ENOENT, WebDAV's "409 Conflict", which gfal2
        reports as "File Exist"), so the parent is looked at rather than the error. Another process
        writing into the same new directory may create the parent between the failure and the
        look (two LocalWorkflow workers, two jobs): when the parent exists by then, *func* is run
        once more all the same; a genuine error simply fails again.
        """
        try:
            return func()
        except (TargetMissingError, TargetExistsError, RemoteError) as e:
            if isinstance(e, TransientRemoteError) or not self.file_interface.has_directories:
                raise
            parent = self.dirname(path)
            if not self.isdir(parent):
                try:
                    self.file_interface.mkdir(parent, recursive=True)
                except (TargetExistsError, RemoteError):
                    if not self.isdir(parent):  # not made concurrently by another process
                        raise
            return func()

    def _write_then_rename(self, dst: str, write: Any) -> None:
        """
        ``write(path)`` a file that must appear at remote *dst* whole or not at all: into a
        temporary sibling that is renamed over *dst* (into *dst* itself where the interface's
        uploads are atomic); a failure removes the temporary file and leaves *dst* as it was.
        """
        tmp = dst if self.file_interface.atomic_upload else remote_tmp_name(dst)
        if tmp != dst:
            self._stale_sweep().sweep(posixpath.dirname(dst))
        try:
            write(tmp)
            if tmp != dst:
                self.file_interface.rename(tmp, dst)
        except BaseException:
            self._discard(tmp, dst)
            raise

    def _discard(self, tmp: str, dst: str) -> None:
        """
        Best-effort removal of a temporary upload (the server may be the thing that failed);
        when it fails, it is tried again before this process's next write to the storage.
        """
        if tmp == dst:
            return
        try:
            self._remove_tmp(tmp)
        except FileNotFoundError:
            pass
        except Exception:  # noqa: BLE001 - the server is unreachable: later
            self._stale_sweep().orphaned(tmp)

    def _remove_tmp(self, path: str) -> None:
        fi = self.file_interface
        try:
            fi.call("unlink", path, lambda b: fi._do_unlink(fi.uri(path, base=b)), retries=0)
        except TargetMissingError:
            raise FileNotFoundError(path) from None
        except RemoteError:
            if not self.isdir(path):  # a directory upload's stage: the whole tree goes
                raise
            self.remove(path, recursive=True)

    def _stale_sweep(self) -> StaleSweep:
        """Removes the temporaries of killed or cut writes, once per directory and process."""
        fi = self.file_interface
        sweep = _sweeps.get(fi)
        if sweep is None:
            def mtime(path: str) -> float | None:
                st = fi.exists(path)
                return None if st is None else st.st_mtime

            # no listing of its own: a directory may hold 100 000 outputs, written by as many
            # jobs; the listings the process makes anyway feed it (existing_names)
            sweep = _sweeps[fi] = StaleSweep(None, mtime, self._remove_tmp, join=posixpath.join)
        return sweep

    # -- verification ---------------------------------------------------------------------------

    def _verify(self, path: str, size: int, checksum: Any, shown: str) -> None:
        """Check the copy at remote *path*: by checksum where offered, else by size."""
        fi = self.file_interface
        have = fi.checksum(path)
        want = checksum() if have else None
        if want and have:
            if int(want, 16) != int(have, 16):
                raise RemoteError(
                    f"copy to {self.uri(shown)} is corrupt: {fi.checksum_algorithm} "
                    f"{have} on the server, expected {want}; it was not kept"
                )
            return
        remote = fi.stat(path).st_size
        if remote != size:
            raise RemoteError(
                f"copy to {self.uri(shown)} is incomplete: {remote} of {size} bytes "
                f"on the server; it was not kept"
            )

    # -- transfers to and from the local disk ---------------------------------------------------

    def _upload_file(self, local: str, remote: str, shown: str | None = None) -> None:
        fi = self.file_interface
        self._with_parent(remote, lambda: fi.upload(local, remote))
        if self.validate_copy:
            self._verify(
                remote, os.stat(local).st_size, lambda: adler32_file(local), shown or remote
            )

    def _download_file(self, remote: str, local: str, st: RemoteStat | None = None) -> None:
        fi = self.file_interface
        fi.download(remote, local)
        if not self.validate_copy:
            return
        size = os.stat(local).st_size
        want = fi.checksum(remote) if fi.checksum_algorithm else None
        if want and int(want, 16) != int(adler32_file(local), 16):
            raise RemoteError(
                f"download of {self.uri(remote)} is corrupt ({fi.checksum_algorithm} "
                f"mismatch); it was not kept"
            )
        if not want:
            expected = (st or fi.stat(remote)).st_size
            if size != expected:
                raise RemoteError(
                    f"download of {self.uri(remote)} is incomplete: {size} of {expected} bytes"
                )

    def copy_from_local(self, src: str, dst: str, perm: int | None = None, **kwargs: Any) -> str:
        """Upload local *src* (file or directory) to *dst*; it appears there atomically."""
        if os.path.isdir(src):
            return self._upload_tree(src, dst, perm)
        if not os.path.exists(src):
            raise TargetMissingError(f"cannot upload {src}: it does not exist")
        self._write_then_rename(dst, lambda tmp: self._upload_file(src, tmp, dst))
        self.chmod(dst, perm, silent=True)
        return dst

    def _upload_tree(self, src: str, dst: str, perm: int | None) -> str:
        fi = self.file_interface
        stage = dst if not fi.has_directories else remote_tmp_name(dst)
        if stage != dst:
            self._stale_sweep().sweep(posixpath.dirname(dst))
        if stage == dst:
            # object stores have no directories to swap: the old keys go first, then the new
            # ones are uploaded (each key appears atomically, the "directory" does not)
            self.remove(dst, silent=True)
        try:
            for dirpath, _, files in os.walk(src):
                rel = os.path.relpath(dirpath, src)
                rdir = stage if rel == "." else self.join(stage, rel.replace(os.sep, "/"))
                fi.mkdir(rdir, recursive=True)
                for name in files:
                    self._upload_file(os.path.join(dirpath, name), self.join(rdir, name))
            if stage != dst:
                self._replace(stage, dst, isdir=True)
        except BaseException:
            if stage != dst:
                with contextlib.suppress(Exception):
                    self.remove(stage, silent=True)
            raise
        return dst

    def copy_to_local(self, src: str, dst: str, **kwargs: Any) -> str:
        """Download *src* (file or directory) to local *dst*; it appears there atomically."""
        from pipekit.target.local import replace_path, tmp_sibling_path

        st = self.file_interface.exists(src)
        if st is None:
            raise TargetMissingError(f"cannot copy {self.uri(src)}: it does not exist")
        dst = os.path.abspath(dst)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        tmp = tmp_sibling_path(dst)
        try:
            if st.isdir:
                self._download_tree(src, tmp)
            else:
                self._download_file(src, tmp, st)
            replace_path(tmp, dst)
        finally:
            if os.path.isdir(tmp):
                shutil.rmtree(tmp, ignore_errors=True)
            elif os.path.exists(tmp):
                os.remove(tmp)
        return dst

    def _download_tree(self, src: str, local: str) -> None:
        for dirpath, _, files, _ in self.walk(src):
            rel = posixpath.relpath(dirpath, src)
            ldir = local if rel == "." else os.path.join(local, rel)
            os.makedirs(ldir, exist_ok=True)
            for name in files:
                self._download_file(self.join(dirpath, name), os.path.join(ldir, name))


class RemoteAtomicFile(AtomicFile):
    """
    A remote file opened for writing: data goes to a local temporary file that is uploaded
    (atomically) by :meth:`close`; leaving a ``with`` block through an exception discards it.
    """

    def __init__(
        self,
        fs: Any,
        path: str,
        mode: str = "w",
        perm: int | None = None,
        **kwargs: Any,
    ):
        from pipekit.target.local import tmp_path

        self.fs = fs
        self.path = path
        self.perm = perm
        self.tmp_path = tmp_path(split_tmp_name(fs.basename(path))[1])
        if "a" in mode and fs.exists(path):
            fs.copy_to_local(path, self.tmp_path)
        self._open(mode, **kwargs)

    def _commit(self) -> None:
        try:
            self.fs.copy_from_local(self.tmp_path, self.path, perm=self.perm)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.remove(self.tmp_path)
