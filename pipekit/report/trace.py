"""
The trace: one tab-separated row per branch attempt of every workflow in a report
(``pipekit report TASK --trace trace.tsv``), for spreadsheets, pandas or awk. The columns are
:data:`TRACE_COLUMNS`, documented in ``docs/report.md``; times are ISO 8601 in UTC, durations in
seconds, memory in MB; an empty field means "not known" (a job that has not started has no
host). Tabs and newlines inside a value become spaces, so every row is one line.
"""

from __future__ import annotations

import datetime as _dt
import io
from typing import Any, Iterable

from pipekit.report.collect import Attempt, BranchAttempt, WorkflowRun

__all__ = ["TRACE_COLUMNS", "trace_rows", "write_trace", "iso_time"]

#: (column, what it holds); the order of the file's columns
TRACE_COLUMNS = (
    ("workflow", "task family of the workflow"),
    ("type", "workflow type: local, slurm, htcondor, ..."),
    ("job", "job number in the workflow's ledger (local workflows: the branch)"),
    ("attempt", "attempt of that job, from 1"),
    ("branch", "branch number"),
    ("batch_id", "the batch system's job id (empty for local workflows)"),
    ("state", "the branch's state in this attempt: finished, failed, running, pending, ..."),
    ("exit_code", "exit code of the job (local: 0 or 1 for the branch)"),
    ("reason", "on failed rows, why: oom, walltime, preempted, evicted, node_failure, "
               "exit_code, cancelled, lost"),
    ("host", "machine the job ran on"),
    ("submitted", "when the job was submitted (local: when the run started)"),
    ("start", "when the branch started"),
    ("end", "when the branch ended"),
    ("queue_s", "seconds from submission to the start of the job's process"),
    ("wall_s", "wall-clock seconds of the branch"),
    ("cpu_s", "CPU seconds of the branch (user + system, with children it waited for)"),
    ("maxrss_mb", "peak resident memory of the branch's process while it ran, MB"),
    ("job_wall_s", "wall-clock seconds of the job's process (all its branches and start-up)"),
    ("job_cpu_s", "CPU seconds of the job's process"),
    ("job_maxrss_mb", "peak resident memory of the job's process, MB"),
    ("req_memory_mb", "memory the job requested, MB"),
    ("req_walltime_s", "time limit the job requested, seconds"),
    ("req_cpus", "CPUs the job requested"),
    ("log", "the job's log file"),
    ("error", "the branch's (else the job's) error, first line"),
)


def iso_time(t: float | None) -> str:
    """*t* (epoch seconds) as ``2026-11-21T10:15:02.123Z``; empty for None."""
    if t is None:
        return ""
    d = _dt.datetime.fromtimestamp(t, tz=_dt.timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{d.microsecond // 1000:03d}Z"


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.3f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))
    return " ".join(str(value).split()) if isinstance(value, str) else str(value)


def _row(wf: WorkflowRun, a: Attempt, r: BranchAttempt) -> list[Any]:
    error = r.error or (a.error if r.state == "failed" else None)
    return [wf.family, wf.type, a.job, a.attempt, r.branch, a.batch_id, r.state, a.exit_code,
            (a.reason or "exit_code") if r.state == "failed" else None, a.host, iso_time(a.submitted),
            iso_time(r.start), iso_time(r.end), a.queue_s, r.wall_s, r.cpu_s, r.maxrss_mb,
            a.wall_s, a.cpu_s, a.maxrss_mb, a.requested.get("memory_mb"),
            a.requested.get("walltime_s"), a.requested.get("cpus"), a.log,
            error.splitlines()[0] if error else None]


def trace_rows(workflows: Iterable[WorkflowRun]) -> Iterable[list[str]]:
    """The trace's rows (without the header), as strings."""
    for wf in workflows:
        for a in wf.attempts:
            for r in a.rows:
                yield [_fmt(v) for v in _row(wf, a, r)]


def write_trace(workflows: Iterable[WorkflowRun], path: str) -> int:
    """Write the trace to *path* (atomically); returns the number of rows."""
    from pipekit.job.jsonfile import write_text_atomic

    buf = io.StringIO()
    buf.write("\t".join(name for name, _ in TRACE_COLUMNS) + "\n")
    n = 0
    for row in trace_rows(workflows):
        buf.write("\t".join(row) + "\n")
        n += 1
    write_text_atomic(path, buf.getvalue(), durable=False)
    return n
