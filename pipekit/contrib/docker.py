"""
law-compatible home of :class:`DockerSandbox` (``law.contrib.load("docker")`` then
``law.docker.DockerSandbox``); defined in :mod:`pipekit.sandbox.docker`.
"""

from __future__ import annotations

from pipekit.sandbox.docker import DockerSandbox

__all__ = ["DockerSandbox"]
