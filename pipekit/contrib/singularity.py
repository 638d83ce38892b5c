"""
law-compatible home of :class:`SingularitySandbox` (``law.contrib.load("singularity")`` then
``law.singularity.SingularitySandbox``); defined in :mod:`pipekit.sandbox.singularity`.
"""

from __future__ import annotations

from pipekit.sandbox.singularity import ApptainerSandbox, SingularitySandbox

__all__ = ["SingularitySandbox", "ApptainerSandbox"]
