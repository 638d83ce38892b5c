"""
Bundles: the analysis code and software a job needs, packed once on the submitting machine and
unpacked once per node, for farms without a shared file system (HTCondor file transfer, ARC,
opportunistic sites) or simply to keep jobs away from a busy home directory.

- :class:`BundleGitRepository` / :class:`BundleMercurialRepository`: a repository's working
  tree (law's ``law.git`` / ``law.mercurial`` tasks, also importable as those).
- :class:`BundleSoftware`: a venv or a software directory.
- :class:`BundleTask`: their base, for packing anything else.
- :class:`BundleRef`: what a job spec records about a bundle; :mod:`pipekit.bundle.node` is
  what the node does with it.

See docs/bundles.md.
"""

from __future__ import annotations

from pipekit.bundle.base import BundleTask, bundle_dir, find_bundles
from pipekit.bundle.git import BundleGitRepository
from pipekit.bundle.mercurial import BundleMercurialRepository
from pipekit.bundle.ref import BundleRef
from pipekit.bundle.software import BundleSoftware

__all__ = ["BundleTask", "BundleGitRepository", "BundleMercurialRepository", "BundleSoftware",
           "BundleRef", "bundle_dir", "find_bundles"]
