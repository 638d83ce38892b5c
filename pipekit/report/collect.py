"""
What the run report shows, read from files only: a workflow's ledger (remote:
:class:`~pipekit.job.ledger.SubmissionLedger` next to its outputs; local:
:mod:`pipekit.workflow.local_ledger`) and, for remote jobs, each attempt's exit-status file
(written by ``python -m pipekit.job`` on the node: host, start, end, CPU, peak RSS, and the same
per branch). Nothing here talks to a batch system.

:func:`load_workflow` turns one ledger into a :class:`WorkflowRun`: its job attempts
(:class:`Attempt`, one bar of the report's timeline) and, inside each, its branch attempts
(:class:`BranchAttempt`, one row of the trace).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from pipekit.job.base import ACTIVE_STATES
from pipekit.job.jsonfile import read_json, read_json_object
from pipekit.job.ledger import SUBMITTING

__all__ = ["WorkflowRun", "Attempt", "BranchAttempt", "load_workflow", "log_tail", "ACTIVE"]

#: job states of attempts that have not ended
ACTIVE = (SUBMITTING, *ACTIVE_STATES)


def span(start: float | None, end: float | None) -> float | None:
    """Seconds from *start* to *end* (never negative); None when either is unknown."""
    if start is None or end is None:
        return None
    return max(0.0, end - start)


@dataclass
class BranchAttempt:
    """One branch in one job attempt: a row of the trace."""

    branch: int
    state: str
    start: float | None = None
    end: float | None = None
    cpu_s: float | None = None
    maxrss_mb: float | None = None
    error: str | None = None
    traceback: str | None = None

    @property
    def wall_s(self) -> float | None:
        return span(self.start, self.end)


@dataclass
class Attempt:
    """One attempt of one job (for local workflows: of one branch): a bar of the timeline."""

    job: int
    attempt: int
    branches: list[int]
    state: str
    batch_id: str | None = None
    submitted: float | None = None
    started: float | None = None
    ended: float | None = None
    exit_code: int | None = None
    reason: str | None = None
    error: str | None = None
    log: str | None = None
    status_file: str | None = None
    host: str | None = None
    cpu_s: float | None = None
    maxrss_mb: float | None = None
    #: what the submission requested: ``{"memory_mb", "walltime_s", "cpus"}`` (may be empty)
    requested: dict[str, float] = field(default_factory=dict)
    rows: list[BranchAttempt] = field(default_factory=list)

    @property
    def active(self) -> bool:
        return self.state in ACTIVE

    @property
    def queue_s(self) -> float | None:
        """Seconds from submission to the start of the job's process."""
        return span(self.submitted, self.started)

    @property
    def wall_s(self) -> float | None:
        return span(self.started, self.ended)


@dataclass
class WorkflowRun:
    """Everything the ledger of one workflow tells about its runs."""

    ledger: str
    family: str
    type: str
    task: str
    #: branches of the workflow (None: the ledger does not say; then those it lists)
    n_branches: int | None
    attempts: list[Attempt]
    updated: float | None = None
    #: the process attached to the workflow, as far as the ledger tells (local runs)
    run_info: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.family} [{self.type}]"

    def latest_by_job(self) -> dict[int, Attempt]:
        out: dict[int, Attempt] = {}
        for a in self.attempts:
            if a.job not in out or a.attempt > out[a.job].attempt:
                out[a.job] = a
        return out

    def branch_states(self) -> dict[int, str]:
        """Each branch's state: finished if any attempt finished it, else its latest attempt's."""
        states: dict[int, str] = {}
        for a in sorted(self.attempts, key=lambda a: (a.attempt, a.submitted or 0)):
            for row in a.rows:
                if states.get(row.branch) != "finished":
                    states[row.branch] = row.state
        return states

    @property
    def rows(self) -> list[tuple[Attempt, BranchAttempt]]:
        return [(a, r) for a in self.attempts for r in a.rows]


def _num(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


def _status_path(entry: dict[str, Any]) -> str | None:
    """The exit-status file of an attempt (older ledgers keep only the log path)."""
    if entry.get("status_file"):
        return entry["status_file"]
    log = entry.get("log")
    if log and os.path.basename(log).startswith("log_") and log.endswith(".txt"):
        index = os.path.basename(log)[4:-4]
        return os.path.join(os.path.dirname(log), f"status_{index}.json")
    return None


def _read(path: str | None) -> dict[str, Any]:
    return read_json_object(path) or {}


def _split_error(error: str | None) -> tuple[str | None, str | None]:
    """A local ledger's error is the message, a newline and the traceback's end."""
    if not error or "\n" not in error:
        return error, None
    first, rest = error.split("\n", 1)
    return first, rest


def _attempt(num: int, entry: dict[str, Any], requested: dict[str, float], local: bool) -> Attempt:
    usage = entry.get("usage") or {}
    a = Attempt(job=num, attempt=int(entry.get("attempt") or 1),
                branches=[int(b) for b in entry.get("branches") or []],
                state=str(entry.get("state") or "unknown"), batch_id=entry.get("job_id"),
                submitted=_num(entry.get("submitted")), ended=_num(entry.get("ended")),
                exit_code=entry.get("exit_code"), reason=entry.get("reason"),
                error=entry.get("error"), log=entry.get("log"), requested=dict(requested))
    if local:
        a.error, tb = _split_error(a.error)
        a.started, a.ended = _num(usage.get("start")), _num(usage.get("end")) or a.ended
        a.host, a.cpu_s, a.maxrss_mb = usage.get("host"), _num(usage.get("cpu_s")), _num(usage.get("maxrss_mb"))
        for b in a.branches:
            a.rows.append(BranchAttempt(b, a.state, a.started, a.ended, a.cpu_s, a.maxrss_mb,
                                        a.error if a.state == "failed" else None, tb))
        return a
    a.status_file = _status_path(entry)
    info = _read(a.status_file) if a.state not in ("submitting", "pending") else {}
    if info and entry.get("tag") and info.get("tag") not in (None, entry.get("tag")):
        info = {}  # another submission's file (cannot happen with pipekit's names; be safe)
    a.started = _num(info.get("start")) or _num(usage.get("start"))
    a.ended = _num(info.get("end")) or _num(usage.get("end")) or a.ended
    a.host = info.get("host") or usage.get("host")
    a.cpu_s = _num(info.get("cpu_s")) if "cpu_s" in info else _num(usage.get("cpu_s"))
    a.maxrss_mb = _num(info.get("maxrss_mb")) if "maxrss_mb" in info else _num(usage.get("maxrss_mb"))
    if info.get("branches"):  # what the node ran (older ledgers do not keep it per attempt)
        a.branches = [int(b) for b in info["branches"]]
    per_branch = info.get("branch_usage") or {}
    failed = info.get("failed") or {}
    for b in a.branches:
        u = per_branch.get(str(b)) or {}
        f = failed.get(str(b))
        if f:
            state = "failed"
        elif u:
            state = "finished"
        else:
            state = a.state
        row = BranchAttempt(b, state, _num(u.get("start")), _num(u.get("end")),
                            _num(u.get("cpu_s")), _num(u.get("maxrss_mb")))
        if f:
            row.error, row.traceback = f.get("error"), f.get("traceback") or None
        elif state == "failed":
            row.error = a.error
        if not u and len(a.branches) == 1:  # an older node: the job's own figures
            row.start, row.end, row.cpu_s, row.maxrss_mb = a.started, a.ended, a.cpu_s, a.maxrss_mb
        a.rows.append(row)
    return a


def load_workflow(path: str) -> WorkflowRun:
    """The :class:`WorkflowRun` of the ledger at *path* (raises ``OSError`` / ``ValueError``)."""
    data = read_json(path)
    if not isinstance(data, dict) or not isinstance(data.get("jobs"), dict):
        raise ValueError(f"{path} is not a pipekit ledger")
    info = data.get("workflow") or {}
    wtype = str(info.get("type") or "?")
    local = wtype == "local"
    subs = data.get("submissions") or {}
    attempts: list[Attempt] = []
    for key, rec in data["jobs"].items():
        num = int(key)
        for entry in list(rec.get("history") or []) + [rec]:
            if not entry.get("branches"):
                entry = dict(entry, branches=rec.get("branches") or [])
            requested = (subs.get(entry.get("tag") or "") or {}).get("requested") or {}
            attempts.append(_attempt(num, entry, requested, local))
    attempts.sort(key=lambda a: (a.submitted or 0.0, a.job, a.attempt))
    n = info.get("branches")
    return WorkflowRun(ledger=os.path.abspath(path), family=str(info.get("family") or "?"),
                       type=wtype, task=str(info.get("task") or info.get("family") or "?"),
                       n_branches=int(n) if isinstance(n, int) else None, attempts=attempts,
                       updated=_num(data.get("updated")), run_info=dict(info.get("run") or {}))


def log_tail(path: str | None, lines: int = 30, max_bytes: int = 16384) -> str:
    """The last *lines* lines of a log file (empty when there is none)."""
    if not path:
        return ""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - max_bytes))
            text = f.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])

