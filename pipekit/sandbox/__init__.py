"""
Sandboxes: run a task in another software environment (bash script, venv, Docker,
Singularity/Apptainer). See :mod:`pipekit.sandbox.base` and ``docs/sandboxes.md``.
"""

from __future__ import annotations

from pipekit.sandbox.base import Sandbox, SandboxTask, require_sandbox

__all__ = ["Sandbox", "SandboxTask", "require_sandbox"]
