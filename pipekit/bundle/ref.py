"""
:class:`BundleRef`: what a job needs to know about one bundle — its name and checksum, where
the archive is (a local path, or a file on remote storage with the file system that reads it),
what was bundled on the submitting side, and which of its directories go on ``PYTHONPATH`` and
``PATH``. Bundle tasks make one (:meth:`pipekit.bundle.BundleTask.bundle_ref`); the remote
workflow puts it into each job spec, and the node (:mod:`pipekit.bundle.node`) unpacks the
archive it names. Plain data: it imports nothing heavier than the standard library.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field, fields
from typing import Any

__all__ = ["BundleRef"]


@dataclass
class BundleRef:
    """One bundle as a job sees it (see the module docstring)."""

    #: short name (the bundled directory's name); with the checksum it names the archive
    name: str
    #: identifies the bundled content: same checksum, same content
    checksum: str
    #: the archive's file name (``<name>.<checksum>.tgz``)
    archive: str
    #: absolute path of the archive when it is a local file (None: it is on remote storage)
    local_archive: str | None = None
    #: the archive's URI when it is on remote storage (None: local)
    uri: str | None = None
    #: ``module.Class`` of the remote file system, its law.cfg section, its first base URL and
    #: the archive's path in it: enough to rebuild it on the node
    fs_class: str | None = None
    fs_section: str | None = None
    fs_base: str | None = None
    fs_path: str | None = None
    #: the bundled directory on the submitting side: job-spec paths below it (the task module's
    #: root, law.cfg) are mapped into the unpacked bundle on the node
    source_dir: str | None = None
    #: directories of the bundle (relative, "." for its top) put in front of ``sys.path`` and
    #: ``PYTHONPATH``, and of ``PATH``
    python_path: list[str] = field(default_factory=list)
    bin_path: list[str] = field(default_factory=list)
    #: environment variables set on the node; ``{dir}`` is replaced by the unpacked directory
    env: dict[str, str] = field(default_factory=dict)
    #: what was bundled: "git", "mercurial", "venv", "directory"
    kind: str = "directory"

    @property
    def key(self) -> str:
        """The archive's name without extension: the bundle's name in the node's cache."""
        return f"{self.name}.{self.checksum}"

    @property
    def where(self) -> str:
        """Where the archive is, in words."""
        return self.local_archive or self.uri or self.archive

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BundleRef:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def map_path(self, path: str, unpacked: str) -> str | None:
        """*path* (submitting side) inside the unpacked bundle *unpacked*; None if not below
        :attr:`source_dir`."""
        if not self.source_dir:
            return None
        rel = os.path.relpath(os.path.abspath(path), self.source_dir)
        if rel == os.pardir or rel.startswith(os.pardir + os.sep):
            return None
        return os.path.normpath(os.path.join(unpacked, rel))
