"""
:class:`SubmissionLedger`: the record of a remote workflow's jobs — job numbers, their branches,
attempts, batch job ids, array indices, states, log and exit-status paths — kept as one JSON file
next to the workflow's outputs and rewritten atomically after every change. The file is plain
JSON laid out one job per line (``grep '"state": "failed"'`` finds the failed ones), which keeps a
rewrite of a 100 000-job ledger well under a second.

It is what makes a run resumable: re-running the same command reads the ledger and re-attaches
to the jobs it lists instead of submitting them again. A submission is recorded in two steps:
*before* the submit command runs, its jobs are written as ``submitting`` together with the
submission's unique tag (which the batch system sees as the job name); *after* it returns, the
job ids are written. A process killed between the two leaves a ``submitting`` record, and the
next run asks the batch system for jobs with that name before it submits anything (see
:meth:`pipekit.job.loop.JobLoop.recover`).

Jobs that end while no loop watches them (the submitter was killed, or the loop ended early on
a sibling's failure) are settled from their exit-status files (:meth:`SubmissionLedger.settle`)
when the loop ends, by ``--print-status`` and by a run that finds the workflow complete.

Only one process may attach to a ledger at a time (:meth:`SubmissionLedger.lock`).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from dataclasses import dataclass, field, fields
from typing import Any, Iterator

from pipekit.errors import JobError
from pipekit.job.base import ACTIVE_STATES, EXIT_CODE, FAILED, FINISHED, PENDING, SubmissionPlan
from pipekit.job.jsonfile import read_json, read_json_object, write_text_atomic

__all__ = ["SubmissionLedger", "JobRecord", "SUBMITTING", "LEDGER_VERSION", "HISTORY_FIELDS"]

LEDGER_VERSION = 1
#: the submit command of the job's submission may or may not have run (see module docstring)
SUBMITTING = "submitting"


@dataclass
class JobRecord:
    """One job of the workflow: the branches it runs and its current (latest) attempt."""

    num: int
    branches: list[int]
    state: str = PENDING
    attempt: int = 0
    tag: str = ""
    index: int = -1
    job_id: str | None = None
    log: str | None = None
    status_file: str | None = None
    exit_code: int | None = None
    error: str | None = None
    #: why the latest attempt failed (one of :data:`pipekit.job.base.FAILURE_REASONS`)
    reason: str | None = None
    #: what the latest attempt asked for (memory, time limit: ``JobConfig.resources()``)
    resources: dict[str, Any] | None = None
    submitted: float | None = None
    ended: float | None = None
    #: what the latest attempt cost, from its exit-status file: ``{"host", "start", "end",
    #: "cpu_s", "maxrss_mb"}`` (None until it ended; see :mod:`pipekit.report`)
    usage: dict[str, Any] | None = None
    #: earlier attempts: the fields of :data:`HISTORY_FIELDS`
    history: list[dict[str, Any]] = field(default_factory=list)

    def history_entry(self) -> dict[str, Any]:
        """This attempt as the job's history keeps it (:data:`HISTORY_FIELDS`)."""
        return {k: getattr(self, k) for k in HISTORY_FIELDS}

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES or self.state == SUBMITTING

    def __setattr__(self, name: str, value: Any) -> None:
        # any assignment invalidates the cached JSON line of the record (see ``json_line``)
        self.__dict__[name] = value
        self.__dict__["_json_line"] = None

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in _RECORD_FIELDS}

    def json_line(self) -> str:
        """The record as one line of JSON, cached until a field is assigned (saving a ledger
        re-encodes only the jobs that changed; a change inside ``history`` must assign too)."""
        line = self.__dict__.get("_json_line")
        if line is None:
            line = self.__dict__["_json_line"] = json.dumps(self.to_dict())
        return line

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> JobRecord:
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})


_RECORD_FIELDS = tuple(f.name for f in fields(JobRecord))
#: what the ledger keeps of an earlier attempt of a job (older ledgers keep the first eight)
HISTORY_FIELDS = ("attempt", "tag", "job_id", "state", "exit_code", "error", "reason", "log",
                  "branches", "status_file", "submitted", "ended", "usage", "resources")


class SubmissionLedger:
    """The ledger file at *path* (see the module docstring)."""

    def __init__(self, path: str, workflow: dict[str, Any] | None = None):
        self.path = os.path.abspath(path)
        self.workflow = dict(workflow or {})
        self.jobs: dict[int, JobRecord] = {}
        self.submissions: dict[str, dict[str, Any]] = {}
        self.next_job_num = 0
        self.created = time.time()

    # -- file -----------------------------------------------------------------------------------

    @property
    def exists(self) -> bool:
        return os.path.exists(self.path)

    @classmethod
    def load(cls, path: str, workflow: dict[str, Any] | None = None) -> SubmissionLedger:
        """The ledger at *path*, or an empty one when there is none."""
        ledger = cls(path, workflow)
        if not os.path.exists(ledger.path):
            return ledger
        try:
            data = read_json(ledger.path)
            if data.get("version") != LEDGER_VERSION:
                raise ValueError(f"version {data.get('version')!r}, expected {LEDGER_VERSION}")
            ledger.jobs = {int(k): JobRecord.from_dict(v) for k, v in data["jobs"].items()}
            ledger.submissions = dict(data.get("submissions", {}))
            ledger.next_job_num = int(data.get("next_job_num", max(ledger.jobs, default=-1) + 1))
            ledger.created = float(data.get("created", ledger.created))
            ledger.workflow = data.get("workflow") or ledger.workflow
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
            raise JobError(
                f"the submission ledger {ledger.path} cannot be read ({e}); move it away or run "
                "with --ignore-submission (jobs it lists are then neither re-attached nor cancelled)"
            ) from None
        return ledger

    def save(self, durable: bool = True) -> None:
        """
        Write the ledger atomically (temporary sibling, fsync, rename), one job per line;
        without *durable* no fsync (for bookkeeping that a crash may lose, the local ledger).
        """
        dumps = json.dumps
        head = {
            "version": LEDGER_VERSION,
            "workflow": self.workflow,
            "created": self.created,
            "updated": time.time(),
            "next_job_num": self.next_job_num,
        }
        parts = ["{\n"]
        parts.extend(f" {dumps(k)}: {dumps(v)},\n" for k, v in head.items())
        parts.append(' "jobs": {\n')
        jobs = sorted(self.jobs.items())
        parts.append(",\n".join(f'  "{n}": {j.json_line()}' for n, j in jobs) + ("\n" if jobs else ""))
        parts.append(' },\n "submissions": {\n')
        subs = self.submissions.items()
        parts.append(",\n".join(f"  {dumps(t)}: {dumps(s)}" for t, s in subs) + ("\n" if subs else ""))
        parts.append(" }\n}\n")
        write_text_atomic(self.path, "".join(parts), durable=durable)

    @staticmethod
    @contextlib.contextmanager
    def lock(path: str) -> Iterator[None]:
        """
        Hold an exclusive lock on the ledger at *path* while attached to its jobs; fail at once
        when another process holds it (the lock ends with the process, also when it is killed).
        """
        path = os.path.abspath(path)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        lock_path = path + ".lock"
        f = open(lock_path, "a+")
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            f.seek(0)
            holder = f.read().strip() or "unknown"
            f.close()
            raise JobError(
                f"another process ({holder}) is attached to the jobs of this workflow "
                f"(lock {lock_path}); wait for it to end or stop it, then run again"
            ) from None
        f.seek(0)
        f.truncate()
        f.write(f"pid {os.getpid()} on {os.uname().nodename}\n")
        f.flush()
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
            f.close()

    # -- jobs -----------------------------------------------------------------------------------

    def new_job(self, branches: list[int]) -> JobRecord:
        job = JobRecord(num=self.next_job_num, branches=list(branches))
        self.jobs[job.num] = job
        self.next_job_num += 1
        return job

    def active_jobs(self) -> list[JobRecord]:
        return [j for j in self.jobs.values() if j.active]

    def active_branches(self) -> set[int]:
        return {b for j in self.jobs.values() if j.active for b in j.branches}

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for j in self.jobs.values():
            out[j.state] = out.get(j.state, 0) + 1
        return out

    # -- submissions ----------------------------------------------------------------------------

    def begin_submission(self, plan: SubmissionPlan, branches: dict[int, list[int]]) -> None:
        """
        Record *plan* as ``submitting`` before its submit command runs; *branches* gives the
        branches each job runs in this attempt (a retry runs only the failed ones).
        """
        now = time.time()
        for index, num in enumerate(plan.job_nums):
            job = self.jobs[num]
            if job.attempt:
                job.history = job.history + [job.history_entry()]
            job.branches = list(branches.get(num, job.branches))
            job.attempt += 1
            job.state = SUBMITTING
            job.tag, job.index, job.job_id = plan.tag, index, None
            job.log, job.status_file = plan.log_file(index), plan.status_file(index)
            job.exit_code = job.error = job.reason = job.ended = None
            job.usage = job.resources = None
            job.submitted = now
        self.submissions[plan.tag] = {
            "state": SUBMITTING, "time": now, "job_name": plan.job_name,
            "directory": plan.directory, "cwd": plan.cwd, "parallel": plan.parallel,
            "job_nums": list(plan.job_nums), "job_ids": None,
        }
        if plan.first_index:
            self.submissions[plan.tag]["first_index"] = plan.first_index

    def plan_of(self, tag: str) -> SubmissionPlan:
        """The plan of the recorded submission *tag*."""
        s = self.submissions[tag]
        return SubmissionPlan(tag=tag, directory=s["directory"], job_nums=list(s["job_nums"]),
                              job_name=s["job_name"], cwd=s.get("cwd", ""),
                              parallel=s.get("parallel"), first_index=s.get("first_index", 0))

    def confirm_submission(self, tag: str, job_ids: list[str | None]) -> None:
        """The submit command of *tag* returned these ids (None: submitted, id unknown)."""
        sub = self.submissions[tag]
        sub["state"] = "submitted"
        sub["job_ids"] = list(job_ids)
        for num, job_id in zip(sub["job_nums"], job_ids):
            job = self.jobs[num]
            if job.tag == tag and job.state == SUBMITTING:
                job.state, job.job_id = PENDING, job_id

    def abandon_submission(self, tag: str, error: str) -> None:
        """Nothing of *tag* reached the batch system: its jobs count as failed attempts."""
        sub = self.submissions[tag]
        sub["state"] = "failed"
        sub["error"] = error
        for num in sub["job_nums"]:
            job = self.jobs[num]
            if job.tag == tag and job.state == SUBMITTING:
                job.state, job.error, job.ended = FAILED, f"not submitted: {error}", time.time()

    def settle(self) -> int:
        """
        Give jobs the ledger still lists as active (or ``submitting``) the final state their
        exit-status file records: jobs that ended while no process watched them (the submitter
        was killed, or the loop ended early on a failure) would otherwise stay ``running`` or
        ``submitting`` for ever. Costs one small file read per such job and asks no batch
        system; returns how many records changed.
        """
        changed = 0
        for job in self.jobs.values():
            if not job.active:
                continue
            final = _final_status(job.status_file)
            if final is None:
                continue
            code, error = final
            job.state = FINISHED if code == 0 else FAILED
            job.exit_code, job.ended = code, job.ended or time.time()
            if code != 0:
                from pipekit.job.node import describe_exit_code

                job.error = error or describe_exit_code(code)
                job.reason = job.reason or EXIT_CODE
            changed += 1
        # a submission none of whose jobs is left "submitting" reached the batch system: nothing
        # to look for (one with some left is still looked for by the next run, see module doc)
        for tag, sub in self.submissions.items():
            if sub.get("state") == SUBMITTING and changed and not any(
                    self.jobs[n].state == SUBMITTING and self.jobs[n].tag == tag
                    for n in sub["job_nums"]):
                sub["state"] = "submitted"
        return changed

    def settle_and_save(self) -> int:
        """:meth:`settle`, and save when something changed and no other process is attached."""
        changed = self.settle()
        if changed:
            try:
                with self.lock(self.path):
                    self.save()
            except JobError:
                pass  # a running loop owns the ledger and settles it itself
        return changed

    def pending_submissions(self) -> list[str]:
        """Tags whose submit command may have run without its ids being recorded."""
        return [t for t, s in self.submissions.items() if s.get("state") == SUBMITTING]


def _final_status(path: str | None) -> tuple[int, str | None] | None:
    """``(exit code, error)`` of a job's exit-status file once it is final, else None."""
    info = read_json_object(path)
    if info is None or info.get("exit_code") is None:
        return None
    if info.get("stageout") == "running":  # sourcing its stage-out file: not over yet
        return None
    return int(info["exit_code"]), info.get("error")
