"""
law-style access to the Slurm backend: ``pipekit.slurm.SlurmWorkflow`` (also reachable as
``law.slurm.SlurmWorkflow`` after ``law.contrib.load("slurm")``). The implementation lives in
:mod:`pipekit.batch.slurm`.
"""

from __future__ import annotations

from pipekit.batch.slurm import (
    SlurmJobConfig,
    SlurmJobFileFactory,
    SlurmJobManager,
    SlurmWorkflow,
    SlurmWorkflowProxy,
    get_slurm_version,
)

__all__ = ["SlurmWorkflow", "SlurmWorkflowProxy", "SlurmJobManager", "SlurmJobFileFactory",
           "SlurmJobConfig", "get_slurm_version"]
