"""
law's ``git`` package: :class:`BundleGitRepository` (implemented in :mod:`pipekit.bundle.git`).

    import pipekit as law

    law.contrib.load("git")

    class BundleRepo(law.git.BundleGitRepository):
        def get_repo_path(self):
            return os.environ["ANALYSIS_PATH"]
"""

from __future__ import annotations

from pipekit.bundle.git import BundleGitRepository

__all__ = ["BundleGitRepository"]
