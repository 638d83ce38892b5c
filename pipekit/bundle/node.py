"""
The node side of bundles: fetch and unpack each bundle of a job once per node, then put it to
use. ``python -m pipekit.job`` calls :func:`stage_in` before it imports the task.

The cache (``$PIPEKIT_BUNDLE_CACHE``, else ``<tmp>/pipekit-bundles-<uid>``) holds one directory
per bundle and checksum, ``<name>.<checksum>/``, which appears by one ``rename`` only when it is
complete. Jobs that start at the same time on one node serialise on the lock file
``<name>.<checksum>.lock``: the first fetches the archive (the job's own transferred copy, the
local path, or remote storage through pipekit's file systems) and unpacks it, the others wait
and use its result. Each job then holds a shared lock on that file until it ends, and old
versions of a bundle are removed only when no job holds theirs (the newest
``$PIPEKIT_BUNDLE_KEEP``, default 3, per name are kept).

Using a bundle: its ``python_path`` directories go in front of ``sys.path`` (``site.addsitedir``:
``.pth`` files work) and ``PYTHONPATH``, its ``bin_path`` in front of ``PATH``, its ``env`` is
set (``{dir}`` replaced by the unpacked directory), and ``PIPEKIT_BUNDLE_<NAME>`` names that
directory. Paths of the job spec below a bundled directory (the task module's root, law.cfg)
are mapped into the unpacked bundle (:func:`map_into_bundles`).
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import site
import socket
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from pipekit.bundle.archive import extract_archive
from pipekit.bundle.ref import BundleRef
from pipekit.errors import PipekitError

__all__ = ["StagedBundle", "BundleCache", "cache_root", "stage_in", "activate", "map_into_bundles"]

#: seconds a job waits for another job of its node to unpack a bundle
LOCK_TIMEOUT = 1800.0
#: file descriptors of the shared locks this process holds on its bundles (until it exits)
_held: list[Any] = []


def cache_root() -> str:
    """``$PIPEKIT_BUNDLE_CACHE``, else ``<tmp>/pipekit-bundles-<uid>``."""
    path = os.environ.get("PIPEKIT_BUNDLE_CACHE")
    if path:
        return os.path.abspath(os.path.expanduser(path))
    return os.path.join(tempfile.gettempdir(), f"pipekit-bundles-{os.getuid()}")


@dataclass
class StagedBundle:
    """A bundle unpacked on this node: its ref, directory, and how this job got it."""

    ref: BundleRef
    directory: str
    #: "unpacked" (by this job), "cached" (there already), "waited" (another job unpacked it)
    how: str
    seconds: float = 0.0
    #: the archive this job unpacked (its own transferred copy, the local path or the URI)
    source: str = ""


def _lock(path: str, mode: int, timeout: float) -> Any:
    """An open lock file with *mode* (``fcntl.LOCK_EX`` / ``LOCK_SH``) held, waiting up to
    *timeout* seconds; raises :class:`PipekitError` after that."""
    f = open(path, "a+")
    deadline = time.time() + timeout
    while True:
        try:
            fcntl.flock(f, mode | fcntl.LOCK_NB)
            return f
        except OSError:
            if time.time() > deadline:
                f.close()
                raise PipekitError(f"waited {timeout:g} s for the bundle lock {path} (another job "
                                   "of this node is unpacking it, or hung doing so)") from None
            time.sleep(0.05)


class BundleCache:
    """The bundle cache of this node at *root* (see the module docstring)."""

    def __init__(self, root: str | None = None, keep: int | None = None,
                 say: Callable[[str], None] | None = None):
        self.root = root or cache_root()
        self.keep = keep if keep is not None else int(os.environ.get("PIPEKIT_BUNDLE_KEEP", "3"))
        self.say = say or (lambda msg: print(msg, flush=True))

    def directory(self, ref: BundleRef) -> str:
        return os.path.join(self.root, ref.key)

    def get(self, ref: BundleRef, job_dir: str | None = None) -> StagedBundle:
        """The unpacked *ref*, unpacking it first when no job of this node has."""
        os.makedirs(self.root, exist_ok=True)
        target = self.directory(ref)
        lock_path = target + ".lock"
        t0 = time.time()
        if os.path.isdir(target):
            shared = _lock(lock_path, fcntl.LOCK_SH, LOCK_TIMEOUT)
            if os.path.isdir(target):  # not removed while we took the lock
                _held.append(shared)
                return StagedBundle(ref, target, "cached", time.time() - t0)
            shared.close()  # removed meanwhile: unpack it again (our own lock would block us)
        lock = _lock(lock_path, fcntl.LOCK_EX, LOCK_TIMEOUT)
        try:
            source = ""
            if os.path.isdir(target):
                how = "waited"
            else:
                source = self._unpack(ref, target, job_dir)
                how = "unpacked"
            # keep it from removal while the job runs: a shared lock (downgrading the exclusive)
            fcntl.flock(lock, fcntl.LOCK_SH)
            _held.append(lock)
        except BaseException:
            lock.close()
            raise
        staged = StagedBundle(ref, target, how, time.time() - t0, source)
        if how == "unpacked":
            self.remove_old(ref)
        return staged

    def _unpack(self, ref: BundleRef, target: str, job_dir: str | None) -> str:
        tmp = f"{target}.tmp{os.getpid()}"
        for stale in (p for p in os.listdir(self.root) if p.startswith(ref.key + ".tmp")):
            # left by a job killed while unpacking (we hold the exclusive lock now)
            path = os.path.join(self.root, stale)
            shutil.rmtree(path, ignore_errors=True) if os.path.isdir(path) else os.remove(path)
        archive, fetched = self._archive(ref, job_dir, tmp + ".tgz")
        source = ref.uri if fetched and ref.uri else archive
        try:
            n = extract_archive(archive, tmp)
            os.rename(tmp, target)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
            if fetched and os.path.exists(archive):
                os.remove(archive)
        info = {"name": ref.name, "checksum": ref.checksum, "source": source, "files": n,
                "host": socket.gethostname(), "pid": os.getpid(), "unpacked": time.time()}
        with open(target + ".json", "w", encoding="utf-8") as f:
            json.dump(info, f)
        return source

    def _archive(self, ref: BundleRef, job_dir: str | None, dst: str) -> tuple[str, bool]:
        """A local path of *ref*'s archive: (path, whether it was fetched and must be removed)."""
        if job_dir and os.path.isfile(os.path.join(job_dir, ref.archive)):
            return os.path.join(job_dir, ref.archive), False  # sent along with the job
        if ref.local_archive and os.path.isfile(ref.local_archive):
            return ref.local_archive, False
        if ref.fs_class and ref.fs_path:
            fetch_remote(ref, dst)
            return dst, True
        raise PipekitError(f"bundle {ref.key}: its archive is neither in the job directory nor at "
                           f"{ref.where} on {socket.gethostname()} (no shared file system? put "
                           "bundles on remote storage, or use a backend that transfers files)")

    def remove_old(self, ref: BundleRef) -> list[str]:
        """Remove versions of *ref*'s bundle beyond the newest :attr:`keep` that no job uses."""
        pattern = re.compile(re.escape(ref.name) + r"\.([0-9a-zA-Z]+)\.json$")
        versions = []
        for name in os.listdir(self.root):
            m = pattern.match(name)
            if m and m.group(1) != ref.checksum:
                versions.append((os.path.getmtime(os.path.join(self.root, name)), name[:-5]))
        removed = []
        for _, key in sorted(versions, reverse=True)[max(0, self.keep - 1):]:
            path = os.path.join(self.root, key)
            try:
                f = _lock(path + ".lock", fcntl.LOCK_EX, 0)
            except PipekitError:
                continue  # a running job uses it
            try:
                shutil.rmtree(path, ignore_errors=True)
                os.remove(path + ".json")
                removed.append(key)
            finally:
                f.close()
        return removed


def fetch_remote(ref: BundleRef, dst: str) -> None:
    """Download *ref*'s archive from remote storage to the local path *dst*."""
    import importlib

    from pipekit.config import Config

    module, _, cls_name = (ref.fs_class or "").rpartition(".")
    try:
        fs_cls = getattr(importlib.import_module(module), cls_name)
    except (ImportError, AttributeError, ValueError) as e:
        raise PipekitError(f"bundle {ref.key}: cannot load the file system {ref.fs_class}: {e}") from None
    cfg = Config.instance()
    # the node's law.cfg section (credentials, options) when it has one; the base URL always
    # the submitter's, so that the same file is read
    section = ref.fs_section if ref.fs_section and cfg.has_section(ref.fs_section) else None
    section = section or getattr(fs_cls, "default_section", None)
    fs = fs_cls(section, base=ref.fs_base) if section else fs_cls(base=ref.fs_base)
    fs.copy_to_local(ref.fs_path, dst)


def stage_in(refs: Sequence[dict[str, Any] | BundleRef], job_dir: str | None = None,
             cache: BundleCache | None = None) -> list[StagedBundle]:
    """Unpack (or find) every bundle of a job on this node, printing one line each."""
    cache = cache or BundleCache()
    out = []
    for raw in refs:
        ref = raw if isinstance(raw, BundleRef) else BundleRef.from_dict(raw)
        staged = cache.get(ref, job_dir)
        what = {"unpacked": f"unpacked from {staged.source}", "cached": "already unpacked on this node",
                "waited": "unpacked meanwhile by another job of this node"}[staged.how]
        cache.say(f"pipekit job: bundle {ref.key} {what} ({staged.seconds:.2f} s): {staged.directory}")
        out.append(staged)
    return out


def env_name(name: str) -> str:
    """``PIPEKIT_BUNDLE_<NAME>``: the variable naming a bundle's unpacked directory."""
    return "PIPEKIT_BUNDLE_" + re.sub(r"[^A-Za-z0-9]", "_", name).upper()


def _prepend(var: str, paths: list[str]) -> None:
    old = os.environ.get(var)
    os.environ[var] = os.pathsep.join(paths + ([old] if old else []))


def activate(staged: Sequence[StagedBundle]) -> None:
    """Put the bundles on ``sys.path``, ``PYTHONPATH``, ``PATH`` and set their variables."""
    python_paths, bin_paths = [], []
    for s in staged:
        d = s.directory
        os.environ[env_name(s.ref.name)] = d
        for key, value in s.ref.env.items():
            os.environ[key] = str(value).replace("{dir}", d)
        python_paths += [os.path.normpath(os.path.join(d, p)) for p in s.ref.python_path]
        bin_paths += [os.path.normpath(os.path.join(d, p)) for p in s.ref.bin_path]
    for p in reversed(python_paths):
        before = list(sys.path)
        site.addsitedir(p)  # processes .pth files, but appends: put it (and what it added) first
        added = [x for x in sys.path if x not in before and x != p]
        sys.path[:] = [p] + added + [x for x in before if x != p]
    if python_paths:
        _prepend("PYTHONPATH", python_paths)
    if bin_paths:
        _prepend("PATH", bin_paths)


def map_into_bundles(path: str, staged: Sequence[StagedBundle]) -> str | None:
    """*path* of the submitting side inside the bundle that packed it, or None."""
    for s in staged:
        mapped = s.ref.map_path(path, s.directory)
        if mapped is not None:
            return mapped
    return None
