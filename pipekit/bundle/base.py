"""
:class:`BundleTask`: the base of tasks that pack a directory (a git or Mercurial repository, a
venv, a software directory) into one archive for jobs that cannot see the submitting machine's
files. Its output is ``<name>.<checksum>.tgz``: the checksum identifies the content, so a changed
directory makes a new bundle and an unchanged one is reused without packing anything.

A remote workflow that requires bundle tasks (``workflow_requires()`` or
``<type>_workflow_requires()``) hands them to its jobs (:class:`~pipekit.bundle.ref.BundleRef`
in every job spec): each node fetches and unpacks each bundle once
(:mod:`pipekit.bundle.node`) and puts its directories on ``PYTHONPATH`` / ``PATH``.

Subclasses say what to pack (:meth:`BundleTask.list_files`) and how to fingerprint it cheaply
(:meth:`BundleTask.compute_checksum`); :mod:`pipekit.bundle.git`,
:mod:`pipekit.bundle.mercurial` and :mod:`pipekit.bundle.software` are the three there are.
"""

from __future__ import annotations

import fnmatch
import glob
import hashlib
import os
import tempfile
import threading
import time
from typing import Any, Iterable, Sequence

import luigi

from pipekit.bundle.archive import ARCHIVE_SUFFIX, write_archive
from pipekit.bundle.ref import BundleRef
from pipekit.errors import UsageError
from pipekit.parameter import NO_STR, CSVParameter
from pipekit.target.local import LocalFileSystem, LocalFileTarget
from pipekit.task.base import Task

__all__ = ["BundleTask", "bundle_dir", "matches_any", "filter_files", "walk_files",
           "included_files", "find_bundles",
           "CHECKSUM_LENGTH"]

#: hex digits of the checksum in the archive name (64 bits)
CHECKSUM_LENGTH = 16


def bundle_dir() -> str:
    """Where bundles go by default: ``[job] bundle_dir`` of law.cfg, else ``$LAW_HOME/bundles``."""
    from pipekit.config import Config, law_home_path

    path = Config.instance().get_expanded("job", "bundle_dir", None)
    return os.path.abspath(path) if path else law_home_path("bundles")


def matches_any(rel: str, patterns: Sequence[str]) -> bool:
    """
    Whether the relative path *rel* matches one of the fnmatch *patterns*, or lies in a directory
    that does (``build`` and ``build/`` exclude everything below ``build``; ``*.root`` every ROOT
    file at any depth).
    """
    if not patterns:
        return False
    parts = rel.split("/")
    prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
    for raw in patterns:
        p = raw.strip().strip("/")
        if not p:
            continue
        if any(fnmatch.fnmatchcase(x, p) for x in prefixes):
            return True
        if "/" not in p and fnmatch.fnmatchcase(parts[-1], p):
            return True
    return False


def find_bundles(requirements: Any) -> list[BundleTask]:
    """The bundle tasks in a (nested) structure of requirements, each once, in order."""
    out: list[BundleTask] = []
    for task in luigi.task.flatten(requirements):
        if isinstance(task, BundleTask) and task not in out:
            out.append(task)
    return out


class BundleTask(Task):
    """
    Packs a directory into ``<name>.<checksum>.tgz`` (see the module docstring). Parameters as
    in law: ``--exclude-files`` and ``--include-files`` (fnmatch patterns relative to the
    bundled directory; includes take files in that the directory's own rules leave out), and
    ``--custom-checksum`` (use this instead of computing one).
    """

    exclude_files = CSVParameter(default=(), description="patterns of files to leave out; "
                                 "default: none")
    include_files = CSVParameter(default=(), description="patterns of files to take in although "
                                 "ignored (e.g. by .gitignore); default: none")
    custom_checksum = luigi.Parameter(default=NO_STR, description="a checksum to use instead of "
                                      "the computed one; default: computed")

    exclude_index = True

    #: what is bundled, in words and in the job's :class:`BundleRef`
    bundle_kind = "directory"
    #: directories of the bundle (relative; "." for its top) put in front of ``sys.path`` and
    #: ``PYTHONPATH`` on the node
    bundle_python_path: Sequence[str] = (".",)
    #: directories of the bundle put in front of ``PATH`` on the node
    bundle_bin_path: Sequence[str] = ()
    #: environment variables set on the node; ``{dir}`` stands for the unpacked directory
    bundle_env: dict[str, str] = {}

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._checksum: str | None = None
        self._checksum_lock = threading.RLock()

    # -- what to pack (subclasses) --------------------------------------------------------------

    def get_source_path(self) -> str:
        """The directory to pack (user hook; git and Mercurial bundles call it ``get_repo_path``)."""
        raise NotImplementedError(f"{self.__class__.__name__} must implement get_source_path()")

    def source_dir(self) -> str:
        """:meth:`get_source_path` as an absolute path, checked to be a directory."""
        raw = self.get_source_path()
        path = str(getattr(raw, "abspath", None) or getattr(raw, "path", None) or raw)
        path = os.path.abspath(os.path.expandvars(os.path.expanduser(path)))
        if not os.path.isdir(path):
            raise UsageError(f"{self.__class__.__name__}: the directory to bundle '{path}' does not "
                             "exist; fix get_repo_path() / get_source_path()")
        return path

    def list_files(self) -> list[str]:
        """The files to pack, relative to :meth:`source_dir` (subclasses)."""
        raise NotImplementedError

    def compute_checksum(self) -> str:
        """A hex digest that changes whenever the packed content would (subclasses)."""
        raise NotImplementedError

    def rewrite_file(self, rel: str, data: bytes) -> bytes | None:
        """New content for file *rel* in the archive (None: as it is). Hook for subclasses."""
        return None

    # -- derived --------------------------------------------------------------------------------

    def bundle_name(self) -> str:
        """The bundle's name: the bundled directory's name."""
        return os.path.basename(self.source_dir().rstrip(os.sep)) or "bundle"

    @property
    def checksum(self) -> str:
        """``--custom-checksum``, else the computed one (computed once per task instance)."""
        if self.custom_checksum not in (NO_STR, None, ""):
            return str(self.custom_checksum)
        with self._checksum_lock:
            if self._checksum is None:
                self._checksum = self.compute_checksum()[:CHECKSUM_LENGTH]
        return self._checksum

    def settings_digest(self) -> bytes:
        """What besides the files decides the archive's content (folded into the checksum)."""
        raw = repr((self.bundle_kind, sorted(self.exclude_files), sorted(self.include_files)))
        return hashlib.sha256(raw.encode()).digest()

    def output(self) -> Any:
        """``<bundle_dir()>/<name>.<checksum>.tgz``; override it for remote storage (law's
        default is the working directory, which is often the repository itself)."""
        return LocalFileTarget(os.path.join(bundle_dir(), self.archive_name()))

    def archive_name(self) -> str:
        return f"{self.bundle_name()}.{self.checksum}{ARCHIVE_SUFFIX}"

    def excluded_by_output(self, root: str) -> list[str]:
        """Patterns that keep the bundles themselves out when they are written into *root*."""
        with self._checksum_lock:
            # asked while computing the checksum: output()'s directory does not depend on it
            computing = self._checksum is None and self.custom_checksum in (NO_STR, None, "")
            if computing:
                self._checksum = "0" * CHECKSUM_LENGTH
            try:
                out = self.output()
            finally:
                if computing:
                    self._checksum = None
        path = getattr(out, "abspath", None) if isinstance(getattr(out, "fs", None), LocalFileSystem) else None
        if not path:
            return []
        rel = os.path.relpath(os.path.dirname(path), root)
        if rel.startswith(os.pardir):
            return []
        if rel == os.curdir:
            return [f"{self.bundle_name()}.*{ARCHIVE_SUFFIX}"]
        return [rel.replace(os.sep, "/")]

    # -- running --------------------------------------------------------------------------------

    def bundle(self, dst_path: str) -> int:
        """Write the archive to *dst_path* (law's method); returns the number of files."""
        root = self.source_dir()
        return write_archive(str(dst_path), root, self.list_files(), rewrite=self.rewrite_file)

    def run(self) -> None:
        out = self.output()
        t0 = time.time()
        local = isinstance(getattr(out, "fs", None), LocalFileSystem)
        if local:
            os.makedirs(os.path.dirname(out.abspath), exist_ok=True)
            tmp = f"{out.abspath}.tmp{os.getpid()}"
            try:
                n = self.bundle(tmp)
                size = os.path.getsize(tmp)
                os.replace(tmp, out.abspath)  # never a half-written archive under the final name
            finally:
                if os.path.exists(tmp):
                    os.remove(tmp)
        else:
            with tempfile.TemporaryDirectory(prefix="pipekit-bundle-") as d:
                tmp = os.path.join(d, self.archive_name())
                n = self.bundle(tmp)
                size = os.path.getsize(tmp)
                out.copy_from_local(tmp)
        from pipekit.humanize import human_bytes

        self.publish_message(f"bundled {n} files of {self.source_dir()} into {out.path if not local else out.abspath} "
                             f"({human_bytes(size, fmt=True)}, {time.time() - t0:.1f} s)")

    def node_python_path(self) -> list[str]:
        """Directories of the bundle for ``sys.path`` / ``PYTHONPATH`` (default:
        :attr:`bundle_python_path`)."""
        return list(self.bundle_python_path)

    def node_bin_path(self) -> list[str]:
        """Directories of the bundle for ``PATH`` (default: :attr:`bundle_bin_path`)."""
        return list(self.bundle_bin_path)

    def node_env(self) -> dict[str, str]:
        """Environment variables for the node (default: :attr:`bundle_env`)."""
        return dict(self.bundle_env)

    def bundle_ref(self) -> BundleRef:
        """What jobs need to fetch and use this bundle (its output must exist)."""
        out = self.output()
        ref = BundleRef(name=self.bundle_name(), checksum=self.checksum,
                        archive=self.archive_name(), source_dir=self.source_dir(),
                        python_path=self.node_python_path(), bin_path=self.node_bin_path(),
                        env=self.node_env(), kind=self.bundle_kind)
        fs = getattr(out, "fs", None)
        if isinstance(fs, LocalFileSystem) or fs is None:
            ref.local_archive = os.path.abspath(str(getattr(out, "abspath", None) or out.path))
        else:
            ref.uri = out.uri()
            ref.fs_class = f"{type(fs).__module__}.{type(fs).__name__}"
            ref.fs_section = getattr(fs, "config_section", None) or getattr(fs, "name", None)
            ref.fs_base = fs.base[0]
            ref.fs_path = out.path
        ref.archive = os.path.basename(ref.local_archive or ref.fs_path or ref.archive)
        return ref


def walk_files(path: str, skip: Sequence[str] = (".git", ".hg")) -> list[str]:
    """The files at or below *path* (a forced include), without version-control directories."""
    if not os.path.isdir(path) or os.path.islink(path):
        return [path] if os.path.lexists(path) else []
    out = []
    for d, dirs, files in os.walk(path):
        dirs[:] = [x for x in dirs if x not in skip]
        out += [os.path.join(d, f) for f in files]
    return out


def included_files(root: str, patterns: Sequence[str]) -> list[str]:
    """Relative paths of the files *patterns* (globs relative to *root*, ``**`` allowed) name."""
    out = []
    for pattern in patterns:
        if not pattern.strip():
            continue
        for path in glob.glob(os.path.join(root, pattern.strip()), recursive=True):
            for full in walk_files(path):
                rel = os.path.relpath(full, root).replace(os.sep, "/")
                if not rel.startswith(".."):
                    out.append(rel)
    return out


def filter_files(files: Iterable[str], excludes: Sequence[str]) -> list[str]:
    """*files* without those matching *excludes* (see :func:`matches_any`), sorted."""
    return sorted(f for f in set(files) if not matches_any(f, excludes))
