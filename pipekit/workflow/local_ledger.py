"""
:class:`LocalLedger`: what a :class:`~pipekit.workflow.local.LocalWorkflow` ran — every branch
attempt with its state, error and cost (wall, CPU, peak RSS, host) — in the same ledger format
as remote workflows (:class:`~pipekit.job.ledger.SubmissionLedger`, one *job* per branch, the job
number being the branch), so that ``pipekit report`` and ``pipekit status`` read local, Slurm and
HTCondor workflows alike.

The file is ``<state dir>/workflows/pipekit_local_<Family>_<key>/ledger.json`` (state dir: the
``.law`` directory next to law.cfg, else ``$LAW_HOME``; see :mod:`pipekit.job.registry`), never
next to the outputs, so output directories hold outputs only. It is written when the run starts
(all its branches pending), at most every :attr:`LocalLedger.interval` seconds while branches end,
and when the run ends: two writes for a fast workflow, whatever its size. Runs of different
branch selections of one workflow may share the file at the same time: every write merges this
run's branches into what is on disk under a short lock. ``[job] local_ledger = False`` in law.cfg
switches it off.

A failed branch's ``error`` is its message, then a newline and the end of its traceback.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import socket
import time
from typing import Any, Iterator

from pipekit.job.base import CANCELLED, EXIT_CODE, FAILED, FINISHED, PENDING, RUNNING
from pipekit.job.ledger import JobRecord, SubmissionLedger
from pipekit.job.registry import register_ledger, state_dir

__all__ = ["LocalLedger", "local_ledger_path"]

#: the end of a failed branch's traceback kept in the ledger
TRACEBACK_CHARS = 3000
#: earlier attempts kept per branch (a workflow re-run every day must not grow without end)
MAX_HISTORY = 20


def local_ledger_path(proxy: Any) -> str:
    """Where the local ledger of the workflow of *proxy* lives (see the module docstring)."""
    task = proxy.task
    first = next(iter(task.get_branch_map(reduce_branches=False)), None)
    where = ""
    if first is not None:  # outputs elsewhere are another workflow, even with equal parameters
        from pipekit.task.base import flatten_outputs

        outs = flatten_outputs(task.branch_task(first).output())
        where = ",".join(str(getattr(t, "abspath", None) or getattr(t, "path", t)) for t in outs[:1])
    key = hashlib.sha1(f"{proxy.ledger_key()}|{where}".encode()).hexdigest()[:10]
    name = f"pipekit_local_{task.get_task_family()}_{key}"
    return os.path.join(state_dir(), "workflows", name, "ledger.json")


def _stamp(path: str) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


class LocalLedger:
    """Records the branches one run of a local workflow runs (see the module docstring)."""

    #: seconds between writes while branches end
    interval = 2.0

    def __init__(self, path: str, info: dict[str, Any], branches: list[int], workers: int):
        self.path = path
        self.tag = f"local-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
        self.info = dict(info, type="local", workers=workers,
                         run={"tag": self.tag, "pid": os.getpid(), "host": socket.gethostname(),
                              "started": round(time.time(), 3)})
        self.records: dict[int, JobRecord] = {}
        self._branches = list(branches)
        self._last = 0.0
        self._dirty = False
        #: the ledger as this run last wrote it, and the file's identity then: a write reuses it
        #: (and the cached lines of its records) unless another run changed the file meanwhile
        self._disk: SubmissionLedger | None = None
        self._stamp: tuple[int, int, int] | None = None

    @classmethod
    def open(cls, proxy: Any, branches: list[int], workers: int, present: int = 0) -> LocalLedger | None:
        """
        The ledger of a run of *branches* (*present*: selected branches complete before it),
        written as pending; None when it is switched off.
        """
        from pipekit.config import Config

        if not branches or not Config.instance().get_expanded_bool("job", "local_ledger", True):
            return None
        task = proxy.task
        info = {"family": task.get_task_family(), "task": repr(task),
                "branches": len(task.get_branch_map(reduce_branches=False)),
                "present": present, "run_started": round(time.time(), 3)}
        ledger = cls(local_ledger_path(proxy), info, branches, workers)
        try:
            ledger.begin()
        except OSError as e:  # bookkeeping must never stop the analysis
            import logging

            logging.getLogger("pipekit.workflow.local").warning(
                "cannot write the local ledger %s (%s); pipekit report and status will not "
                "show this run", ledger.path, e)
            return None
        return ledger

    # -- file -----------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _on_disk(self) -> Iterator[SubmissionLedger]:
        """The ledger as on disk, locked for a merge; saved when the block ends."""
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        with open(self.path + ".lock", "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                existed = os.path.exists(self.path)
                disk = self._disk if self._disk is not None and self._stamp == _stamp(self.path) else None
                if disk is None:
                    try:
                        disk = SubmissionLedger.load(self.path, self.info)
                    except Exception:  # a broken file is replaced, not fatal (an index, not outputs)
                        disk = SubmissionLedger(self.path, self.info)
                yield disk
                disk.workflow = dict(self.info)
                disk.next_job_num = max(disk.next_job_num, max(disk.jobs, default=-1) + 1)
                disk.save(durable=False)  # bookkeeping: a crash may lose the last seconds of it
                self._disk, self._stamp = disk, _stamp(self.path)
                if not existed:
                    register_ledger(self.path, self.info)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def begin(self) -> None:
        """Write every branch of the run as pending, its earlier attempt kept in the history."""
        now = time.time()
        with self._on_disk() as disk:
            for b in self._branches:
                old = disk.jobs.get(b)
                rec = JobRecord(num=b, branches=[b], state=PENDING, tag=self.tag, submitted=now)
                if old is not None:
                    rec.attempt = old.attempt + 1
                    history = old.history + [old.history_entry()]
                    rec.history = history[-MAX_HISTORY:]
                else:
                    rec.attempt = 1
                self.records[b] = disk.jobs[b] = rec
        self._last = time.monotonic()

    def flush(self, force: bool = False) -> None:
        if not self._dirty or (not force and time.monotonic() - self._last < self.interval):
            return
        try:
            with self._on_disk() as disk:
                disk.jobs.update(self.records)
        except OSError:
            return  # try again at the next branch; the run goes on
        self._dirty = False
        self._last = time.monotonic()

    # -- branches -------------------------------------------------------------------------------

    def on_result(self, branch: int, kind: str, payload: Any, usage: dict[str, Any] | None) -> None:
        """``run_branches``' ``on_result``: a branch ended ("ok" / "failed") or waits."""
        rec = self.records.get(branch)
        if rec is None or kind == "waiting":
            return  # it runs again once its dynamic dependencies exist
        if rec.state not in (FINISHED, FAILED):
            rec.ended = round(time.time(), 3)
        if usage:  # a branch judged again later (outputs missing) keeps what it cost
            rec.usage = dict(usage)
        if kind == "ok":
            rec.state, rec.exit_code, rec.error, rec.reason = FINISHED, 0, None, None
        else:
            message, tb = payload if isinstance(payload, tuple) else (str(payload), "")
            rec.state, rec.exit_code, rec.reason = FAILED, 1, EXIT_CODE
            rec.error = message + ("\n" + tb[-TRACEBACK_CHARS:].rstrip() if tb else "")
        self._dirty = True
        self.flush()

    def close(self, interrupted: bool = False) -> None:
        """The run ended: branches that never ended failed (cancelled when *interrupted*)."""
        now = round(time.time(), 3)
        for rec in self.records.values():
            if rec.state in (PENDING, RUNNING):
                rec.state, rec.ended = FAILED, now
                rec.reason = CANCELLED if interrupted else EXIT_CODE
                rec.error = ("the run was interrupted before the branch ended" if interrupted
                             else "the run ended before the branch ran")
        self._dirty = True
        self.flush(force=True)
