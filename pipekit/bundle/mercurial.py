"""
:class:`BundleMercurialRepository` (law's ``law.mercurial.BundleMercurialRepository``): a
Mercurial repository as it is in the working directory — clean, modified, added and unknown
(not ignored) files, subrepositories included (``hg status -S``) — as one archive for jobs.

The checksum reads only what changed: the working directory's parent revision stands for the
clean files, and modified, added, unknown and force-included files are hashed by content.

Differences from law: as for :mod:`pipekit.bundle.git` (``[job] bundle_dir``, bundles inside the
repository left out, a 16-digit checksum), and the archive is named ``<name>.<checksum>.tgz``
(law: ``<name>_<checksum>.tgz``).
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

from pipekit.bundle.archive import git_blob_id
from pipekit.bundle.base import BundleTask, filter_files, included_files
from pipekit.errors import CommandError, UsageError
from pipekit.shell import run_command

__all__ = ["BundleMercurialRepository", "scan_mercurial_repository"]

#: ``hg status`` letters of files present in the working directory
_PRESENT = {"C", "M", "A", "?"}


def _hg(root: str, *args: str) -> bytes:
    try:
        # HGPLAIN: no user aliases, defaults or output settings change what hg prints
        return run_command(["hg", "--cwd", root, *args], timeout=300, text=False,
                           env={"HGPLAIN": "1"}).stdout
    except CommandError as e:
        raise UsageError(f"cannot bundle the Mercurial repository {root}: "
                         f"{str(e).splitlines()[0]}") from None
    except FileNotFoundError:
        raise UsageError("bundling a Mercurial repository needs the hg command; install mercurial") from None


def scan_mercurial_repository(root: str) -> tuple[str, dict[str, str]]:
    """
    ``(parent revision, {path: state})`` of the working directory of the Mercurial repository
    (or directory inside one) *root*: every present, not ignored file relative to *root*, with
    "clean" or the git-style ``mode:blob id`` of a changed file.
    """
    top = os.fsdecode(_hg(root, "root").strip())
    node = os.fsdecode(_hg(root, "log", "-r", ".", "-T", "{node}")).strip()
    below = os.path.relpath(os.path.realpath(root), os.path.realpath(top)).replace(os.sep, "/")
    prefix = "" if below == "." else below + "/"
    raw = _hg(top, "status", "-S", "-0", "--color", "never", "-m", "-a", "-c", "-u")
    files: dict[str, str] = {}
    for rec in (r for r in raw.split(b"\0") if r):
        code, path = os.fsdecode(rec[:1]), os.fsdecode(rec[2:])
        if code not in _PRESENT or not path.startswith(prefix):
            continue
        rel = path[len(prefix):]
        full = os.path.join(root, rel)
        if not os.path.lexists(full):
            continue
        files[rel] = "clean" if code == "C" else ":".join(git_blob_id(full))
    return node, files


class BundleMercurialRepository(BundleTask):
    """
    Packs a Mercurial repository's working directory (see the module docstring). Implement
    :meth:`get_repo_path`; override :meth:`output` for remote storage.
    """

    task_namespace = "law.mercurial"
    bundle_kind = "mercurial"

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._scan: tuple[str, dict[str, str]] | None = None

    def get_repo_path(self) -> Any:
        """The repository to bundle (user hook, as in law)."""
        raise NotImplementedError(f"{self.__class__.__name__} must implement get_repo_path()")

    def get_source_path(self) -> Any:
        return self.get_repo_path()

    def scan(self) -> tuple[str, dict[str, str]]:
        """The parent revision and the files to pack (scanned once per task instance)."""
        if self._scan is None:
            root = self.source_dir()
            node, found = scan_mercurial_repository(root)
            for rel in included_files(root, self.include_files):
                if rel not in found:
                    found[rel] = ":".join(git_blob_id(os.path.join(root, rel)))
            excludes = list(self.exclude_files) + self.excluded_by_output(root)
            self._scan = node, {p: found[p] for p in filter_files(found, excludes)}
        return self._scan

    def list_files(self) -> list[str]:
        return sorted(self.scan()[1])

    def compute_checksum(self) -> str:
        node, files = self.scan()
        h = hashlib.sha256(self.settings_digest() + node.encode())
        for path, state in sorted(files.items()):
            h.update(f"{state} {path}\0".encode())
        return h.hexdigest()
