"""
law's ``mercurial`` package: :class:`BundleMercurialRepository` (implemented in
:mod:`pipekit.bundle.mercurial`).
"""

from __future__ import annotations

from pipekit.bundle.mercurial import BundleMercurialRepository

__all__ = ["BundleMercurialRepository"]
