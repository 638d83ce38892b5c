"""
What the job loop does between two status queries, kept apart from the loop's flow:
:class:`StatusFileWatch` notices jobs that ended successfully from their exit-status files (one
``stat`` per submission directory, its listing only when it changed), so that the last jobs of a
workflow are not left waiting up to one poll interval; :class:`PollStats` keeps the loop's own
cost per status query, which the ledger records (``workflow.polling``) for reports and benchmarks.

Only successes are taken from the files: a failure waits for the batch system's answer, which
tells why (out of memory, time limit, preemption); and jobs that source a stage-out file after
their node wrote the file are left alone, since that file is not final until the batch system
says the job ended.
"""

from __future__ import annotations

import os
import time
from typing import Any, Iterable

from pipekit.job.base import UNKNOWN
from pipekit.job.jsonfile import read_json_object
from pipekit.job.ledger import JobRecord

__all__ = ["StatusFileWatch", "PollStats"]

#: a directory's mtime may stay the same for changes this close together (coarse timestamps)
_COARSE_NS = 1_000_000_000


class StatusFileWatch:
    """Finds active jobs whose exit-status file reports success (see the module docstring)."""

    def __init__(self) -> None:
        self._mtimes: dict[str, int] = {}

    @staticmethod
    def watchable(job: JobRecord, submissions: dict[str, dict[str, Any]]) -> bool:
        sub = submissions.get(job.tag) or {}
        return bool(job.status_file) and sub.get("stageout") is False and job.state != UNKNOWN

    def succeeded(self, jobs: Iterable[JobRecord], submissions: dict[str, dict[str, Any]]) -> list[JobRecord]:
        """The jobs among *jobs* whose exit-status file appeared and says exit code 0."""
        by_dir: dict[str, list[JobRecord]] = {}
        for job in jobs:
            if self.watchable(job, submissions):
                by_dir.setdefault(os.path.dirname(job.status_file or ""), []).append(job)
        out = []
        for directory, group in by_dir.items():
            try:
                mtime = os.stat(directory).st_mtime_ns
            except OSError:
                continue
            # unchanged since the last look: no file was created or renamed there — unless the
            # change fell into the same tick of a coarse file-system clock, so a directory
            # changed within the last second is listed again
            if self._mtimes.get(directory) == mtime and time.time_ns() - mtime > _COARSE_NS:
                continue
            self._mtimes[directory] = mtime
            try:
                names = set(os.listdir(directory))
            except OSError:
                continue
            for job in group:
                if os.path.basename(job.status_file or "") in names and _succeeded(job.status_file):
                    out.append(job)
        return out


def _succeeded(path: str | None) -> bool:
    info = read_json_object(path)
    return info is not None and info.get("exit_code") == 0 and "stageout" not in info


class PollStats:
    """The loop's cost per status query (query, updates, ledger write) and its early ends."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}
        self._times: list[float] = []

    def note_cycle(self, seconds: float) -> dict[str, Any]:
        ms = seconds * 1000.0
        self._times.append(ms)
        if len(self._times) > 1000:
            del self._times[:500]
        ordered = sorted(self._times)
        self.data.update(queries=self.data.get("queries", 0) + 1,
                         cycle_ms_median=round(ordered[len(ordered) // 2], 2),
                         cycle_ms_max=round(max(self.data.get("cycle_ms_max", 0.0), ms), 2))
        return dict(self.data)

    def note_early_ends(self, n: int) -> None:
        self.data["early_ends"] = self.data.get("early_ends", 0) + n
