"""
law-style access to the HTCondor backend: ``pipekit.htcondor.HTCondorWorkflow`` (also reachable
as ``law.htcondor.HTCondorWorkflow`` after ``law.contrib.load("htcondor")``). The implementation
lives in :mod:`pipekit.batch.htcondor`; the HTCondor Python bindings are not needed.
"""

from __future__ import annotations

from pipekit.batch.htcondor import (
    HTCondorJobConfig,
    HTCondorJobFileFactory,
    HTCondorJobManager,
    HTCondorWorkflow,
    HTCondorWorkflowProxy,
    get_htcondor_version,
)

__all__ = ["HTCondorWorkflow", "HTCondorWorkflowProxy", "HTCondorJobManager",
           "HTCondorJobFileFactory", "HTCondorJobConfig", "get_htcondor_version"]
