"""
One line per workflow for ``pipekit status``: :func:`overview` reads a ledger (only the ledger,
not the jobs' exit-status files, so a refresh every two seconds stays cheap for 100 000 jobs)
into an :class:`Overview` — jobs per state, branches done, CPU time so far, and whether a
process is still attached. :class:`OverviewCache` re-reads a ledger only when it changed.
"""

from __future__ import annotations

import os
import socket
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from pipekit.job.jsonfile import read_json
from pipekit.report.collect import ACTIVE as ACTIVE_STATES

__all__ = ["Overview", "overview", "OverviewCache", "ACTIVE_STATES"]


@dataclass
class Overview:
    """What one ledger says about its workflow right now."""

    ledger: str
    family: str
    type: str
    task: str
    n_branches: int
    n_done: int
    n_failed: int
    jobs: Counter = field(default_factory=Counter)
    cpu_s: float = 0.0
    started: float | None = None
    updated: float | None = None
    #: "running" (a process is attached), "detached" (active jobs, nobody polls them),
    #: "stopped" (a local run that ended without finishing), "done", "failed"
    activity: str = "done"
    error: str | None = None
    #: the process that runs the workflow, as the ledger (local) or its lock (remote) names it
    owner: tuple[str | None, str | None] = (None, None)

    @property
    def n_active(self) -> int:
        return sum(self.jobs.get(s, 0) for s in ACTIVE_STATES)

    @property
    def progress(self) -> float:
        return self.n_done / self.n_branches if self.n_branches else 0.0


def _alive(pid: Any, host: Any) -> bool | None:
    """Whether process *pid* on *host* lives (None: another host, cannot tell)."""
    if host and host != socket.gethostname():
        return None
    try:
        os.kill(int(pid), 0)
    except (ProcessLookupError, ValueError, TypeError):
        return False
    except PermissionError:
        return True
    return True


def _lock_holder(ledger: str) -> tuple[str | None, str | None]:
    """(pid, host) written into the remote ledger's lock by the process attached to it."""
    try:
        with open(ledger + ".lock", encoding="utf-8") as f:
            words = f.read().split()
    except OSError:
        return None, None
    if len(words) >= 4 and words[0] == "pid" and words[2] == "on":
        return words[1], words[3]
    return None, None


def overview(path: str) -> Overview:
    """The :class:`Overview` of the ledger at *path*; a broken ledger gives ``error``."""
    try:
        data = read_json(path)
        jobs = data["jobs"]
        info = data.get("workflow") or {}
    except (OSError, ValueError, KeyError, TypeError) as e:
        return Overview(path, os.path.basename(os.path.dirname(path)), "?", "?", 0, 0, 0,
                        activity="failed", error=str(e))
    counts: Counter = Counter()
    done: set[int] = set()
    failed: set[int] = set()
    listed: set[int] = set()
    cpu = 0.0
    first = None
    for rec in jobs.values():
        state = rec.get("state") or "unknown"
        counts[state] += 1
        branches = set(rec.get("branches") or [])
        # a retry runs only the branches still missing: the others of earlier attempts are done
        earlier = {b for h in rec.get("history") or [] for b in h.get("branches") or []}
        listed.update(branches | earlier)
        done.update(earlier - branches)
        if state == "finished":
            done.update(branches)
        elif state == "failed":
            failed.update(branches)
        for entry in (rec.get("history") or []) + [rec]:
            cpu += float((entry.get("usage") or {}).get("cpu_s") or 0.0)
            sub = entry.get("submitted")
            if sub is not None and (first is None or sub < first):
                first = sub
    wtype = str(info.get("type") or "?")
    n_total = max(int(info.get("branches") or 0), len(listed))
    n_done = len(done)
    if info.get("run_started") is not None:
        # branches present when the latest run started, plus those it finished since
        since: set[int] = set()
        for rec in jobs.values():
            if rec.get("state") == "finished" and (rec.get("ended") or 0) >= info["run_started"]:
                since.update(rec.get("branches") or [])
                since.update(b for h in rec.get("history") or [] for b in h.get("branches") or [])
        n_done = max(n_done, min(n_total, int(info.get("present") or 0) + len(since)))
    ov = Overview(path, str(info.get("family") or "?"), wtype, str(info.get("task") or ""),
                  n_total, n_done, len(failed - done), counts, cpu, first, data.get("updated"))
    if wtype == "local":
        run = info.get("run") or {}
        ov.owner = (run.get("pid"), run.get("host"))
    return _judge_activity(ov)


def _judge_activity(ov: Overview) -> Overview:
    """Set ``ov.activity`` from its job counts and whether its process still lives."""
    if not ov.n_active:
        ov.activity = "failed" if ov.n_failed else "done"
        return ov
    pid, host = ov.owner if ov.type == "local" else _lock_holder(ov.ledger)
    alive = _alive(pid, host) if pid else False
    ov.activity = ("running" if alive is not False else
                   "stopped" if ov.type == "local" else "detached")
    return ov


class OverviewCache:
    """:func:`overview` of many ledgers, each re-read only when its file changed."""

    def __init__(self) -> None:
        self._cache: dict[str, tuple[tuple[float, int], Overview]] = {}

    def get(self, path: str) -> Overview:
        try:
            st = os.stat(path)
            key = (st.st_mtime, st.st_size)
        except OSError:
            key = (time.time(), -1)
        hit = self._cache.get(path)
        if hit is not None and hit[0] == key:
            return _judge_activity(hit[1])  # the process may have ended without a last write
        ov = overview(path)
        self._cache[path] = (key, ov)
        return ov
