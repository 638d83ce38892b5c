"""
:class:`BundleGitRepository` (law's ``law.git.BundleGitRepository``): a git repository as it is
in the working tree — tracked files with their uncommitted changes, plus untracked files that
``.gitignore`` does not ignore, recursively through submodules — as one archive for jobs.

The checksum costs no more than the changes: a tracked file whose working-tree state git does
not report as changed is represented by the blob id in git's index (no read); changed, untracked
and force-included files are hashed the way git hashes them. Same content, same checksum, on any
clone; any edit, new file, deletion or mode change, a new one.

Differences from law: the archive goes to ``[job] bundle_dir`` (default ``$LAW_HOME/bundles``)
rather than the working directory, bundles written into the repository itself are left out of
it, the checksum is 16 hex digits of SHA-256 over (mode, blob id, path) instead of a SHA-1 of
``git diff`` output, and packing needs neither a temporary clone nor a commit.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

from pipekit.bundle.archive import git_blob_id
from pipekit.bundle.base import BundleTask, filter_files, included_files
from pipekit.errors import CommandError, UsageError
from pipekit.shell import run_command

__all__ = ["BundleGitRepository", "scan_git_repository"]


def _git(root: str, *args: str) -> bytes:
    try:
        return run_command(["git", "-C", root, *args], timeout=300, text=False).stdout
    except CommandError as e:
        raise UsageError(f"cannot bundle the git repository {root}: {str(e).splitlines()[0]}") from None
    except FileNotFoundError:
        raise UsageError("bundling a git repository needs the git command; install git") from None


def _records(raw: bytes) -> list[str]:
    return [os.fsdecode(r) for r in raw.split(b"\0") if r]


def scan_git_repository(root: str, prefix: str = "") -> dict[str, tuple[str, str]]:
    """
    ``{path: (mode, blob id)}`` of every file the working tree of the git repository (or
    directory inside one) *root* holds, tracked or untracked-but-not-ignored, submodules
    included; paths relative to *root* with *prefix* in front.
    """
    entries: dict[str, tuple[str, str]] = {}
    submodules = []
    for rec in _records(_git(root, "ls-files", "-z", "--stage")):
        meta, path = rec.split("\t", 1)
        mode, oid, _ = meta.split(" ")
        if mode == "160000":
            submodules.append(path)
        else:
            entries[path] = (mode, oid)
    changed = set(_records(_git(root, "diff-files", "-z", "--name-only", "--", ".")))
    for path in list(entries):
        if path in changed:  # modified, deleted or only touched: ask the working tree
            full = os.path.join(root, path)
            if os.path.lexists(full) and not os.path.isdir(full):
                entries[path] = git_blob_id(full)
            else:
                del entries[path]
    for path in _records(_git(root, "ls-files", "-z", "--others", "--exclude-standard")):
        full = os.path.join(root, path)
        if not path.endswith("/") and os.path.lexists(full) and not os.path.isdir(full):
            entries[path] = git_blob_id(full)
    out = {prefix + p: v for p, v in entries.items()}
    for sub in submodules:
        full = os.path.join(root, sub)
        if os.path.exists(os.path.join(full, ".git")):  # an uninitialised submodule is empty
            out.update(scan_git_repository(full, f"{prefix}{sub}/"))
    return out


class BundleGitRepository(BundleTask):
    """
    Packs a git repository's working tree (see the module docstring). Implement
    :meth:`get_repo_path`; override :meth:`output` to put the bundle on remote storage, e.g.
    ``law.wlcg.WLCGFileTarget(f"bundles/{self.archive_name()}")``.
    """

    task_namespace = "law.git"
    bundle_kind = "git"

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._entries: dict[str, tuple[str, str]] | None = None

    def get_repo_path(self) -> Any:
        """The repository to bundle (user hook, as in law)."""
        raise NotImplementedError(f"{self.__class__.__name__} must implement get_repo_path()")

    def get_source_path(self) -> Any:
        return self.get_repo_path()

    def entries(self) -> dict[str, tuple[str, str]]:
        """``{path: (mode, blob id)}`` of the files to pack (scanned once per task instance)."""
        if self._entries is None:
            root = self.source_dir()
            found = scan_git_repository(root)
            for rel in included_files(root, self.include_files):
                if rel not in found:
                    found[rel] = git_blob_id(os.path.join(root, rel))
            excludes = list(self.exclude_files) + self.excluded_by_output(root)
            self._entries = {p: found[p] for p in filter_files(found, excludes)}
        return self._entries

    def list_files(self) -> list[str]:
        return sorted(self.entries())

    def compute_checksum(self) -> str:
        h = hashlib.sha256(self.settings_digest())
        for path, (mode, oid) in sorted(self.entries().items()):
            h.update(f"{mode} {oid} {path}\0".encode())
        return h.hexdigest()

