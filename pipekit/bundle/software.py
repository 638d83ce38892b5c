"""
:class:`BundleSoftware`: a virtual environment or any software directory as one archive for
jobs, law's ``BundleCMSSW`` idea for plain Python stacks.

- A **venv** (a directory with ``pyvenv.cfg``) is packed whole. On the node its
  ``lib/pythonX.Y/site-packages`` goes on ``sys.path`` (``.pth`` files processed) and
  ``PYTHONPATH``, its ``bin`` in front of ``PATH``, and ``VIRTUAL_ENV`` points at it. Console
  scripts (``bin/*`` starting with ``#!<venv>/bin/python``) get a start line that runs the
  ``python`` next to them wherever the bundle is unpacked. Its ``bin/python`` stays a link to the
  interpreter the venv was made from, which the nodes must have at the same path (the same
  image or CVMFS release); packages installed in editable mode point back to their sources.
- Any other **directory** (e.g. ``pipekit software``'s output) goes on ``sys.path`` and
  ``PYTHONPATH`` as it is, and its ``bin`` (when there is one) in front of ``PATH``.

The checksum reads no file content by default: it covers every file's path, size, mode and
modification time (``checksum_mode = "content"`` hashes the content instead), so bundling an
unchanged 500 MB venv costs one directory walk. ``__pycache__`` directories are left out.
"""

from __future__ import annotations

import glob
import hashlib
import os
import re
import sys
from typing import Any

import luigi

from pipekit.bundle.archive import git_blob_id
from pipekit.bundle.base import BundleTask, filter_files, included_files
from pipekit.errors import UsageError
from pipekit.parameter import NO_STR

__all__ = ["BundleSoftware", "is_venv", "RELOCATABLE_SHEBANG"]

#: the start of a console script that runs the ``python`` next to it (sh and Python both read it)
RELOCATABLE_SHEBANG = (b"#!/bin/sh\n"
                       b"'''exec' \"$(dirname -- \"$(realpath -- \"$0\")\")/python\" \"$0\" \"$@\"\n"
                       b"' '''\n")
#: left out of every software bundle: caches that Python writes anew
DEFAULT_EXCLUDES = ("__pycache__", "*.pyc")


def is_venv(path: str) -> bool:
    """Whether *path* is a virtual environment (it has ``pyvenv.cfg``)."""
    return os.path.isfile(os.path.join(path, "pyvenv.cfg"))


class BundleSoftware(BundleTask):
    """
    Packs a venv or a software directory (see the module docstring): ``--source-path``, else
    :meth:`get_source_path`, else the venv this process runs in.
    """

    source_path = luigi.Parameter(default=NO_STR, description="the venv or directory to bundle; "
                                  "default: get_source_path(), else the running venv")

    #: "stat" (path, size, mode, mtime: fast) or "content" (hash every file)
    checksum_mode = "stat"

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._files: list[str] | None = None

    def get_source_path(self) -> Any:
        """The directory to bundle (user hook): ``--source-path``, else the running venv."""
        if self.source_path not in (NO_STR, None, ""):
            return self.source_path
        if sys.prefix == sys.base_prefix:
            raise UsageError(f"{self.__class__.__name__}: no --source-path given and this Python "
                             "does not run in a venv; say what to bundle")
        return sys.prefix

    @property
    def bundle_kind(self) -> str:  # type: ignore[override]
        return "venv" if is_venv(self.source_dir()) else "directory"

    def list_files(self) -> list[str]:
        if self._files is None:
            root = self.source_dir()
            found = []
            for d, dirs, files in os.walk(root):
                rel_dir = os.path.relpath(d, root)
                names = files + [x for x in dirs if os.path.islink(os.path.join(d, x))]
                dirs[:] = [x for x in dirs if not os.path.islink(os.path.join(d, x))]
                for name in names:
                    rel = name if rel_dir == "." else os.path.join(rel_dir, name)
                    found.append(rel.replace(os.sep, "/"))
            found += included_files(root, self.include_files)
            excludes = list(DEFAULT_EXCLUDES) + list(self.exclude_files) + self.excluded_by_output(root)
            self._files = filter_files(found, excludes)
        return self._files

    def compute_checksum(self) -> str:
        root = self.source_dir()
        h = hashlib.sha256(self.settings_digest() + self.checksum_mode.encode())
        for rel in self.list_files():
            full = os.path.join(root, rel)
            if self.checksum_mode == "content":
                state = ":".join(git_blob_id(full))
            else:
                st = os.lstat(full)
                link = os.readlink(full) if os.path.islink(full) else ""
                state = f"{st.st_size}:{st.st_mode:o}:{st.st_mtime_ns}:{link}"
            h.update(f"{state} {rel}\0".encode())
        return h.hexdigest()

    def rewrite_file(self, rel: str, data: bytes) -> bytes | None:
        """Console scripts of a venv: a start line that finds the unpacked venv's python."""
        if not (rel.startswith("bin/") and data.startswith(b"#!") and is_venv(self.source_dir())):
            return None
        first, _, rest = data.partition(b"\n")
        python = re.escape(os.path.join(self.source_dir(), "bin", "python").encode())
        if not re.match(rb"#!\s*" + python + rb"[0-9.]*\s*$", first):
            return None
        return RELOCATABLE_SHEBANG + rest

    # -- node side ------------------------------------------------------------------------------

    def node_python_path(self) -> list[str]:
        root = self.source_dir()
        if not is_venv(root):
            return list(self.bundle_python_path)
        found = sorted(glob.glob(os.path.join(root, "lib", "python*", "site-packages")))
        return [os.path.relpath(p, root) for p in found]

    def node_bin_path(self) -> list[str]:
        if self.bundle_bin_path:
            return list(self.bundle_bin_path)
        return ["bin"] if os.path.isdir(os.path.join(self.source_dir(), "bin")) else []

    def node_env(self) -> dict[str, str]:
        env = dict(self.bundle_env)
        if is_venv(self.source_dir()):
            env.setdefault("VIRTUAL_ENV", "{dir}")
        return env
