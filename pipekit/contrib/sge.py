"""
law-style access to the Grid Engine backend: ``pipekit.sge.SGEWorkflow`` (also reachable as
``law.sge.SGEWorkflow`` after ``law.contrib.load("sge")``). law has no Grid Engine package; the
names follow its ``lsf`` and ``slurm`` packages. The implementation lives in
:mod:`pipekit.batch.sge`.
"""

from __future__ import annotations

from pipekit.batch.sge import (
    SGEJobConfig,
    SGEJobFileFactory,
    SGEJobManager,
    SGEWorkflow,
    SGEWorkflowProxy,
    get_sge_version,
)

__all__ = ["SGEWorkflow", "SGEWorkflowProxy", "SGEJobManager", "SGEJobFileFactory",
           "SGEJobConfig", "get_sge_version"]
