"""
law-style access to the LSF backend: ``pipekit.lsf.LSFWorkflow`` (also reachable as
``law.lsf.LSFWorkflow`` after ``law.contrib.load("lsf")``), with law's names. The implementation
lives in :mod:`pipekit.batch.lsf`.
"""

from __future__ import annotations

from pipekit.batch.lsf import (
    LSFJobConfig,
    LSFJobFileFactory,
    LSFJobManager,
    LSFWorkflow,
    LSFWorkflowProxy,
    get_lsf_version,
)

__all__ = ["LSFWorkflow", "LSFWorkflowProxy", "LSFJobManager", "LSFJobFileFactory",
           "LSFJobConfig", "get_lsf_version"]
