"""
The numbers of a run report, computed from :class:`~pipekit.report.collect.WorkflowRun`s: states
and success rate (:func:`summarize`), and what jobs requested against what they used
(:func:`right_sizing`), with a suggestion a user can paste into ``slurm_job_config`` / law.cfg.
``pipekit status`` uses :func:`summarize` too.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable

from pipekit.report.collect import WorkflowRun, span

__all__ = ["Summary", "summarize", "ResourceRow", "right_sizing", "percentile"]


def percentile(values: list[float], q: float) -> float | None:
    """The *q* quantile (0..1) of *values* by linear interpolation; None for no values."""
    if not values:
        return None
    s = sorted(values)
    pos = (len(s) - 1) * q
    lo = math.floor(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


@dataclass
class Summary:
    """What one workflow (or several together) amounts to."""

    n_branches: int
    branches: Counter = field(default_factory=Counter)
    n_jobs: int = 0
    n_attempts: int = 0
    attempts: Counter = field(default_factory=Counter)
    reasons: Counter = field(default_factory=Counter)
    cpu_s: float = 0.0
    first: float | None = None
    last: float | None = None
    active: bool = False

    @property
    def n_done(self) -> int:
        return self.branches.get("finished", 0)

    @property
    def n_ended_attempts(self) -> int:
        return self.attempts.get("finished", 0) + self.attempts.get("failed", 0)

    @property
    def success_rate(self) -> float | None:
        """Finished job attempts over ended ones (None before any ended)."""
        ended = self.n_ended_attempts
        return self.attempts.get("finished", 0) / ended if ended else None

    @property
    def wall_s(self) -> float | None:
        return span(self.first, self.last)

    @property
    def progress(self) -> float:
        return self.n_done / self.n_branches if self.n_branches else 1.0


def summarize(workflows: Iterable[WorkflowRun], now: float | None = None) -> Summary:
    """The :class:`Summary` of *workflows* together (one workflow: pass a one-element list)."""
    now = time.time() if now is None else now
    s = Summary(n_branches=0)
    for wf in workflows:
        states = wf.branch_states()
        s.n_branches += max(wf.n_branches or 0, len(states))
        s.branches.update(states.values())
        s.n_jobs += len({a.job for a in wf.attempts})
        for a in wf.attempts:
            s.n_attempts += 1
            s.attempts[a.state] += 1
            if a.state == "failed":
                s.reasons[a.reason or "exit_code"] += 1
            s.cpu_s += a.cpu_s or 0.0
            start = a.submitted if a.submitted is not None else a.started
            if start is not None:
                s.first = start if s.first is None else min(s.first, start)
            end = now if a.active else (a.ended or a.started)
            if end is not None:
                s.last = end if s.last is None else max(s.last, end)
            s.active |= a.active
    return s


@dataclass
class ResourceRow:
    """One resource of one workflow: requested against used (job level), and a suggestion."""

    resource: str
    unit: str
    requested: float | None
    used_median: float | None
    used_p95: float | None
    used_max: float | None
    suggestion: float | None
    note: str = ""


def _round_up(value: float, step: float) -> float:
    return max(step, math.ceil(value / step) * step)


def right_sizing(wf: WorkflowRun) -> list[ResourceRow]:
    """
    Memory and time limit of *wf*'s jobs: the largest request of its submissions against the peak
    RSS and wall time its ended jobs used. The suggestion leaves 20 % headroom over the largest
    use for memory (in steps of 100 MB) and 50 % for time (whole minutes).
    """
    ended = [a for a in wf.attempts if not a.active]
    rows = []
    mem = [a.maxrss_mb for a in ended if a.maxrss_mb is not None]
    wall = [a.wall_s for a in ended if a.wall_s is not None]
    req_mem = max((a.requested.get("memory_mb", 0) for a in wf.attempts), default=0) or None
    req_wall = max((a.requested.get("walltime_s", 0) for a in wf.attempts), default=0) or None
    oom = sum(1 for a in ended if a.reason == "oom")
    timeouts = sum(1 for a in ended if a.reason == "walltime")
    for name, unit, used, req, headroom, step, hit in (
            ("memory", "MB", mem, req_mem, 1.2, 100.0, oom),
            ("wall time", "s", wall, req_wall, 1.5, 60.0, timeouts)):
        top = max(used) if used else None
        suggestion = _round_up(top * headroom, step) if top else None
        note = ""
        if hit:
            note = f"{hit} job(s) hit the limit: request more"
            suggestion = _round_up((req or top or step) * 2, step)
        elif req and top and req > 2 * (suggestion or 0):
            note = f"requested {req / top:.0f}x the most used"
        elif req is None:
            note = "no request recorded (the batch system's default applied)"
        rows.append(ResourceRow(name, unit, req, percentile(used, 0.5), percentile(used, 0.95), top,
                                suggestion, note))
    return rows
