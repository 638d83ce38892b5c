"""
Remote jobs: the batch-system interface (:mod:`pipekit.job.base`), job specs
(:mod:`pipekit.job.spec`), the submission ledger (:mod:`pipekit.job.ledger`), the
backend-independent job loop (:mod:`pipekit.job.loop`) and the node entry point
(``python -m pipekit.job``, :mod:`pipekit.job.node`).

Submodules are imported on use, so that the node starts quickly.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["BaseJobManager", "BaseJobFileFactory", "JobInputFile", "JobArguments", "JobSpec",
           "SubmissionLedger"]

_LAZY = {
    "BaseJobManager": "pipekit.job.base",
    "BaseJobFileFactory": "pipekit.job.base",
    "JobInputFile": "pipekit.job.base",
    "JobArguments": "pipekit.job.base",
    "JobSpec": "pipekit.job.spec",
    "SubmissionLedger": "pipekit.job.ledger",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'pipekit.job' has no attribute '{name}'")
    return getattr(importlib.import_module(module), name)
