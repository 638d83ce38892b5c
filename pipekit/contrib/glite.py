"""
law's ``glite`` package: :class:`GLiteWorkflow`, :class:`GLiteJobManager`,
:class:`GLiteJobFileFactory`. gLite's workload management system (WMS) has been retired from
the WLCG, so pipekit does not submit to it: the names load and can be subclassed (an analysis
that also defines a gLite variant still imports), and ``--workflow glite`` fails with one line
naming the replacements (``--workflow arc`` for grid computing elements, ``htcondor``).
"""

from __future__ import annotations

from pipekit.contrib._unsupported import unsupported_job_classes, unsupported_workflow

__all__ = ["GLiteJobManager", "GLiteJobFileFactory", "GLiteWorkflow"]

REASON = ("the gLite WMS is retired from the WLCG; submit to grid computing elements with "
          "law.arc.ARCWorkflow (--workflow arc) or to HTCondor-CEs with --workflow htcondor")

GLiteJobManager, GLiteJobFileFactory = unsupported_job_classes("GLite", REASON, __name__)
GLiteWorkflow = unsupported_workflow("GLiteWorkflow", "glite", REASON, __name__)
