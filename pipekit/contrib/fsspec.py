"""
The fsspec file interface as a package of its own (``law.contrib.load("fsspec")`` style):
:class:`FSSpecFileInterface`. The implementation lives in :mod:`pipekit.target.remote.fsspec`.
"""

from __future__ import annotations

from pipekit.target.remote.fsspec import FSSpecFileInterface

__all__ = ["FSSpecFileInterface"]
