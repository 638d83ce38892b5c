"""
Run reports: what a workflow (or a whole dependency tree) ran, where, for how long, with how
much memory, and why what failed failed — read from ledgers, exit-status files and provenance
records, never from a batch system.

- :mod:`pipekit.report.collect`: ledgers and exit-status files -> :class:`WorkflowRun`
- :mod:`pipekit.report.summary`: states, success rate, CPU hours; requested against used
- :mod:`pipekit.report.trace`: the TSV trace, one row per branch attempt
- :mod:`pipekit.report.html` and :mod:`pipekit.report.svg`: the self-contained HTML page
- :mod:`pipekit.report.tasks`: from a task to its ledgers; :mod:`pipekit.report.provenance`

Commands: ``pipekit report TASK -o report.html --trace trace.tsv`` and ``pipekit status``.
"""

from __future__ import annotations

from pipekit.report.collect import Attempt, BranchAttempt, WorkflowRun, load_workflow
from pipekit.report.html import OutputRecords, render_report
from pipekit.report.trace import TRACE_COLUMNS, write_trace

__all__ = ["Attempt", "BranchAttempt", "WorkflowRun", "load_workflow", "render_report",
           "OutputRecords", "write_trace", "TRACE_COLUMNS"]
