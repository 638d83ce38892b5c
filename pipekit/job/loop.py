"""
:class:`JobLoop`: submit the missing branches of a workflow as jobs, poll them, resubmit the
failed ones, and end when the workflow is done, ``acceptance`` is reached or ``tolerance`` is
exceeded. It knows nothing about a particular batch system (that is the
:class:`~pipekit.job.base.BaseJobManager`) nor about luigi (that is the :class:`JobSource`, the
remote workflow proxy in :mod:`pipekit.workflow.remote`).

One cycle costs one :meth:`~pipekit.job.base.BaseJobManager.query` for all active jobs, whatever
their number. Jobs the batch system no longer knows are judged by their exit-status file; a job
with neither is declared lost after a grace time. A failed job is resubmitted with only its
branches whose outputs are still missing, all failed jobs of a cycle in one submission. The
ledger is written after every change, so a killed loop can be re-run and re-attaches.

``--parallel-jobs P`` bounds the jobs of the workflow that run at once over *all* its
submissions (several arrays beyond the batch system's maximum size, resubmissions): every
submission is throttled to the slots the active ones leave free, and jobs that get no slot wait
in the loop for a later cycle (:meth:`JobLoop.free_slots`).
"""

from __future__ import annotations

import math
import os
import random
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

from pipekit.errors import CommandError, JobError
from pipekit.job.base import (
    EXIT_CODE,
    FAILED,
    FINISHED,
    LOST,
    PENDING,
    RUNNING,
    UNKNOWN,
    BaseJobManager,
    JobConfig,
    JobState,
    SubmissionPlan,
)
from pipekit.job.failures import FailureHandling
from pipekit.job.jsonfile import read_json_object
from pipekit.job.ledger import JobRecord, SubmissionLedger
from pipekit.job.node import EXIT_STAGEOUT_FAILED, describe_exit_code
from pipekit.job.resources import requested_resources
from pipekit.job.retry import RetryPolicy
from pipekit.job.status_line import StatusLine
from pipekit.job.watch import PollStats, StatusFileWatch
from pipekit.ranges import join_ranges

__all__ = ["JobLoop", "JobSource", "LoopSettings", "LoopResult", "PollData", "chunk_branches",
           "new_tag"]


#: what a batch-system command that did not work raises: the backend's JobError, or the runner's
#: CommandError (a timed-out or missing command) that no backend wrapped; either is one failed
#: poll or submission, counted against --poll-fails, for every backend alike
BATCH_ERRORS = (JobError, CommandError)
#: seconds between two looks at the exit-status files while waiting for the next status query
WATCH_STEP = 0.25


def new_tag() -> str:
    """A unique submission tag (part of the batch job name)."""
    return uuid.uuid4().hex[:12]


def chunk_branches(branches: list[int], tasks_per_job: int, shuffle: bool = False) -> list[list[int]]:
    """*branches* in jobs of *tasks_per_job*; with *shuffle*, the jobs in random order."""
    n = max(1, int(tasks_per_job))
    chunks = [branches[i:i + n] for i in range(0, len(branches), n)]
    if shuffle:
        random.shuffle(chunks)
    return chunks


class JobSource(Protocol):
    """What the loop needs from the workflow (implemented by the remote workflow proxy)."""

    label: str

    def selected_branches(self) -> list[int]: ...
    def missing_branches(self) -> list[int]: ...
    def prepare_submission(self, plan: SubmissionPlan, branches: dict[int, list[int]],
                           attempts: dict[int, int]) -> tuple[str, JobConfig]: ...
    def new_plan(self, tag: str, job_nums: list[int]) -> SubmissionPlan: ...
    def check_job_completeness(self) -> bool: ...
    def poll_callback(self, poll_data: PollData) -> Any: ...
    def allowed_failures(self, n_total: int) -> float: ...
    def publish_progress(self, percentage: float) -> None: ...


@dataclass
class LoopSettings:
    """The remote-workflow parameters the loop uses (times in seconds)."""

    retries: int = 5
    tasks_per_job: int = 1
    parallel_jobs: int | None = None
    poll_interval: float = 60.0
    poll_fails: int = 5
    walltime: float | None = None
    shuffle_jobs: bool = False
    no_poll: bool = False
    acceptance: float = 1.0
    #: seconds a job may be unknown to the batch system without an exit-status file
    lost_grace: float = 10.0
    #: which failures count against ``retries`` (and how resources grow: the proxy applies it)
    retry_policy: RetryPolicy = field(default_factory=RetryPolicy)


@dataclass
class PollData:
    """What ``<type>_poll_callback(poll_data)`` sees each cycle; returning False ends polling."""

    n_parallel: int | None
    n_finished_min: float
    n_failed_max: float
    n_active: int
    counts: dict[str, int] = field(default_factory=dict)


@dataclass
class LoopResult:
    """How the loop ended: *ok* (the workflow succeeded as far as the loop can tell) and why."""

    ok: bool
    reason: str
    lines: list[str] = field(default_factory=list)
    n_active: int = 0

    def text(self) -> str:
        return "\n".join([self.reason] + [f"  {line}" for line in self.lines])


class JobLoop(FailureHandling):
    """Runs the jobs of one workflow (see the module docstring)."""

    def __init__(self, source: JobSource, manager: BaseJobManager, ledger: SubmissionLedger,
                 settings: LoopSettings, say: Callable[[str], None] | None = None):
        self.source = source
        self.manager = manager
        self.ledger = ledger
        self.settings = settings
        self._say = say or (lambda msg: print(msg, flush=True))
        self.line: StatusLine | None = None
        self.selected = set(source.selected_branches())
        self.done_at_start: set[int] = set()
        self.finished: set[int] = set()
        self.failed_final: dict[int, JobRecord] = {}
        self.retries_used: dict[int, int] = {}
        #: resubmissions after preemptions and evictions, which do not use up --retries
        self.free_retries_used: dict[int, int] = {}
        self._missing_since: dict[int, float] = {}
        self._retry_later: list[JobRecord] = []
        #: jobs that wait for a slot under --parallel-jobs: new ones (branch chunks, no record
        #: yet) and failed ones to retry (job num -> branches)
        self._waiting_new: list[list[int]] = []
        self._waiting_retry: dict[int, list[int]] = {}
        self._submit_fails = 0
        self.n_submitted = 0
        self.n_resubmitted = 0
        #: jobs submitted or re-attached in this run (what the status line counts)
        self.touched: set[int] = set()
        #: what the loop itself costs, and what it sees between queries (pipekit.job.watch)
        self._stats = PollStats()
        self._watch = StatusFileWatch()

    def say(self, msg: str) -> None:
        if self.line is not None:
            self.line.close()
        self._say(msg)

    # -- entry ----------------------------------------------------------------------------------

    def run(self) -> LoopResult:
        self.recover()
        self.submit_missing()
        if self.settings.no_poll:
            n = len(self.relevant_active())
            waiting = (f", {self.n_waiting()} more wait for a free slot (--parallel-jobs "
                       f"{self.settings.parallel_jobs})" if self.n_waiting() else "")
            return LoopResult(True, f"{self.source.label}: {n} jobs active{waiting}, not polling "
                              "(--no-poll); run the same command again to attach to them"
                              + (" and submit the rest" if waiting else ""), n_active=n)
        return self.poll()

    # -- submitting -----------------------------------------------------------------------------

    def recover(self) -> None:
        """Settle submissions whose ids were never recorded (the submitter was killed)."""
        for tag in self.ledger.pending_submissions():
            plan = self.ledger.plan_of(tag)
            ids = self.manager.find_submission(plan)  # a JobError here: cannot tell, stop
            if ids:
                ids = list(ids) + [None] * (len(plan) - len(ids))
                self.ledger.confirm_submission(tag, ids)
                self.say(f"{self.source.label}: found the {len(plan)} jobs of submission {tag} "
                         f"({self.manager.batch_system} job name {plan.job_name}); re-attaching")
            elif any(os.path.exists(p) for i in range(len(plan))
                     for p in (plan.log_file(i), plan.status_file(i))):
                self.ledger.confirm_submission(tag, [None] * len(plan))
                self.say(f"{self.source.label}: the jobs of submission {tag} ran and left the "
                         "queue; judging them by their exit-status files")
            else:
                self.ledger.abandon_submission(tag, "the submitting process ended before submitting")
                self.say(f"{self.source.label}: submission {tag} never reached "
                         f"{self.manager.batch_system}; its branches are submitted again")
            self.ledger.save()

    def submit_missing(self) -> None:
        missing = self.source.missing_branches()
        self.done_at_start = self.selected - set(missing)
        # what pipekit status counts as done besides the jobs this run finishes
        self.ledger.workflow.update(present=len(self.done_at_start), run_started=round(time.time(), 3))
        active = self.ledger.active_branches()
        self.touched.update(j.num for j in self.relevant_active())
        todo = [b for b in missing if b not in active]
        if active & set(missing):
            self.say(f"{self.source.label}: re-attached to {len(self.relevant_active())} active "
                     "jobs of an earlier run")
        if not todo:
            return
        self._waiting_new = chunk_branches(todo, self.settings.tasks_per_job, self.settings.shuffle_jobs)
        self.submit_waiting(raise_errors=True)
        if self._waiting_new:
            self.say(f"{self.source.label}: {len(self._waiting_new)} more job(s) wait for a free slot "
                     f"(--parallel-jobs {self.settings.parallel_jobs}: at most that many jobs of "
                     "this workflow run at once, over all its submissions)")

    def n_waiting(self) -> int:
        """Jobs (new, and failed ones to retry) held back by ``--parallel-jobs``."""
        return len(self._waiting_new) + len(self._waiting_retry)

    def free_slots(self) -> int | None:
        """
        How many more jobs may run at once under ``--parallel-jobs`` (None: no limit). Each
        active submission holds at most ``min(its throttle, its active jobs)`` slots, a number
        that only shrinks while it runs, so throttling every new submission to the free slots
        keeps the whole workflow (all arrays, retries included) within the limit.
        """
        limit = self.settings.parallel_jobs
        if not limit:
            return None
        per_tag: dict[str, int] = {}
        for job in self.ledger.active_jobs():
            per_tag[job.tag] = per_tag.get(job.tag, 0) + 1
        held = 0
        for tag, n in per_tag.items():
            throttle = self.ledger.submissions.get(tag, {}).get("parallel")
            held += min(n, int(throttle)) if throttle else n
        return limit - held

    def submit_waiting(self, raise_errors: bool = False) -> None:
        """
        Submit the waiting jobs, retries first: one submission per batch-system maximum, each
        throttled to the free slots; what gets no slot waits for a later cycle.
        """
        size = self.manager.max_jobs_per_submission() or max(1, self.n_waiting())
        while self._waiting_retry or self._waiting_new:
            slots = self.free_slots()
            if slots is not None and slots <= 0:
                return
            retry = bool(self._waiting_retry)
            if retry:
                nums = self._next_retry_group(size)
                branches = {n: self._waiting_retry[n] for n in nums}
            else:
                chunks = self._waiting_new[:size]
                branches = {self.ledger.new_job(c).num: c for c in chunks}
                del self._waiting_new[:size]
            try:
                self._submit_chunk(branches, slots)
            except BATCH_ERRORS as e:
                self._submit_fails += 1
                limit = self.settings.poll_fails
                if (raise_errors and not retry) or (limit >= 0 and self._submit_fails > limit):
                    raise
                self._waiting_retry.update(branches)  # records exist now: submit them as they are
                self.touched.update(branches)
                self.say(f"{self.source.label}: submission failed ({self._submit_fails}/{limit}), "
                         f"trying again next cycle: {str(e).splitlines()[0]}")
                return
            self._submit_fails = 0
            for n in branches:
                self._waiting_retry.pop(n, None)
            if retry:
                self.n_resubmitted += len(branches)

    def _submit_chunk(self, branches: dict[int, list[int]], slots: int | None = None) -> None:
        plan = self.source.new_plan(new_tag(), list(branches))
        if slots is not None:  # never above --parallel-jobs: the active jobs hold the rest
            plan.parallel = slots
        plan.attempts = self._job_attempts(list(branches))
        attempts = {n: a.attempt for n, a in plan.attempts.items()}
        script, config = self.source.prepare_submission(plan, branches, attempts)
        self.ledger.begin_submission(plan, branches)
        resources = config.resources()
        for n in plan.job_nums:  # what this attempt asked for, shown by --print-status
            self.ledger.jobs[n].resources = dict(resources)
        self._annotate_submission(plan.tag, config)
        self.ledger.save()
        try:
            ids = self.manager.submit(plan, script, config)
        except BATCH_ERRORS as e:
            found = self.manager.find_submission(plan)  # did it go through anyway (timeout)?
            if not found:
                self.ledger.abandon_submission(plan.tag, str(e).splitlines()[0])
                self.ledger.save()
                raise
            ids = list(found) + [None] * (len(plan) - len(found))
        self.ledger.confirm_submission(plan.tag, ids)
        self.ledger.save()
        self.n_submitted += len(plan)
        self.touched.update(plan.job_nums)
        all_branches = sorted(b for bs in branches.values() for b in bs)
        first = next((i for i in ids if i), "?")
        self.say(f"{self.source.label}: submitted {len(plan)} job(s) for branches "
                 f"{join_ranges(all_branches, max_ranges=8)} to {self.manager.batch_system} "
                 f"(first job id {first}, files in {plan.directory})")

    def _annotate_submission(self, tag: str, config: JobConfig) -> None:
        """
        Keep what the report and the early end need with the submission: the resources it
        requested, and whether its jobs source a stage-out file after the node wrote its
        exit-status file (then that file is not final before the batch system says so).
        """
        sub = self.ledger.submissions[tag]
        sub["requested"] = requested_resources(config)
        sub["stageout"] = bool(config.stageout_file)

    # -- polling --------------------------------------------------------------------------------

    def relevant_active(self) -> list[JobRecord]:
        return [j for j in self.ledger.active_jobs() if self.selected.intersection(j.branches)]

    def poll(self) -> LoopResult:
        t0 = time.time()
        n_fails = 0
        self.line = StatusLine(self.source.label)
        try:
            while True:
                active = self.relevant_active()
                if active:
                    started = time.perf_counter()
                    n_fails = self._cycle(active, n_fails)
                    self._note_cycle(time.perf_counter() - started)
                self._handle_failures()
                if self.n_waiting():
                    self.submit_waiting()
                result = self._judge(t0)
                if result is not None:
                    return result
                self._wait_for_next_cycle(time.monotonic() + self.settings.poll_interval)
        finally:
            self.line.close()
            self.line = None
            if self._stats.data:
                self.ledger.workflow["polling"] = dict(self._stats.data)
                self.ledger.save()  # with the loop's figures of the last cycles

    # -- between two status queries: jobs that ended, seen in their exit-status files ----------

    def _wait_for_next_cycle(self, deadline: float) -> None:
        """
        Sleep until *deadline*, the next status query. Meanwhile, every :data:`WATCH_STEP`
        seconds, look at the exit-status files of the active jobs (one ``stat`` per submission
        directory; its listing only when it changed) and end each job whose file says it
        succeeded, so that the last jobs of a workflow do not wait up to one poll interval to be
        noticed (:class:`~pipekit.job.watch.StatusFileWatch`). Return early once nothing this
        loop waits for is active, or the acceptance is reached.
        """
        step = min(WATCH_STEP, max(0.05, self.settings.poll_interval / 4))
        last_save = time.monotonic()
        changed = False
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            time.sleep(min(step, left))
            ended = self._watch.succeeded(self.relevant_active(), self.ledger.submissions)
            if not ended:
                continue
            for job in ended:
                self._end(job, JobState(job.job_id or "", FINISHED, 0, None, "status file"))
            changed = True
            self._stats.note_early_ends(len(ended))
            if time.monotonic() - last_save >= 1.0:
                self.ledger.save()
                last_save, changed = time.monotonic(), False
            self._show_progress()
            if not self.relevant_active() or self._acceptance_reached():
                break
        if changed:
            self.ledger.save()

    def _n_done(self) -> int:
        """Selected branches done: present at the start or finished by this run's jobs."""
        return len(self.done_at_start | self.finished)

    def _required(self) -> float:
        """Branches to be done for the acceptance (a fraction of the selection, or a count)."""
        acc = self.settings.acceptance
        return math.ceil(acc * len(self.selected) - 1e-9) if acc <= 1 else acc

    def _acceptance_reached(self) -> bool:
        return self._n_done() >= self._required()

    def _show_progress(self) -> None:
        if self.line is not None:
            self.line.update(self._counts(), self._n_done(), len(self.selected))

    def _note_cycle(self, seconds: float) -> None:
        """Keep the loop's own cost per status query in the ledger (``workflow.polling``)."""
        self.ledger.workflow["polling"] = self._stats.note_cycle(seconds)

    def _cycle(self, active: list[JobRecord], n_fails: int) -> int:
        try:
            states = self.manager.query([j.job_id for j in active if j.job_id])
        except BATCH_ERRORS as e:
            n_fails += 1
            limit = self.settings.poll_fails
            if limit >= 0 and n_fails > limit:
                raise JobError(
                    f"{self.source.label}: the {self.manager.batch_system} status query failed "
                    f"{n_fails} times in a row ({str(e).splitlines()[0]}); the {len(active)} active "
                    "jobs keep running: run the same command again to attach to them"
                ) from None
            self.say(f"{self.source.label}: status query failed ({n_fails}/{limit}), retrying: "
                     f"{str(e).splitlines()[0]}")
            return n_fails
        changed = False
        for job in active:
            changed |= self._update(job, states.get(job.job_id) if job.job_id else None)
        if changed:
            self.ledger.save()
        return 0

    def _update(self, job: JobRecord, state: JobState | None) -> bool:
        """Apply what is known about *job*; True when its record changed."""
        if state is None or state.status == UNKNOWN:
            state = self._from_status_file(job) or self._lost(job)
            if state is None:
                return self._set(job, UNKNOWN)
        self._missing_since.pop(job.num, None)
        if state.status in (PENDING, RUNNING):
            return self._set(job, state.status)
        return self._end(job, state)

    def _set(self, job: JobRecord, status: str) -> bool:
        if job.state == status:
            return False
        job.state = status
        return True

    def _from_status_file(self, job: JobRecord) -> JobState | None:
        info = read_json_object(job.status_file)
        if info is None or info.get("exit_code") is None or info.get("stageout") == "running":
            return None  # a job sourcing its stage-out file may still be running: not final yet
        code = int(info["exit_code"])
        return JobState(job.job_id or "", FINISHED if code == 0 else FAILED, code,
                        info.get("error"), "status file")

    def _lost(self, job: JobRecord) -> JobState | None:
        now = time.time()
        since = self._missing_since.setdefault(job.num, now)
        grace = 0.0 if job.job_id is None else max(self.settings.lost_grace,
                                                   2 * self.settings.poll_interval)
        if now - since < grace:
            return None
        info = read_json_object(job.status_file) or {}
        if info.get("stageout") == "running":  # it ended while sourcing its stage-out file
            return JobState(job.job_id or "", FAILED, EXIT_STAGEOUT_FAILED, info.get("error"),
                            "status file")
        return JobState(job.job_id or "", FAILED, None,
                        f"left {self.manager.batch_system} without an exit-status file (lost: "
                        "killed before it started, cancelled, or its node failed)", "loop",
                        reason=LOST)

    def _end(self, job: JobRecord, state: JobState) -> bool:
        info = read_json_object(job.status_file) or {}
        code = info.get("exit_code", state.code)
        status = state.status
        if status == FINISHED and code not in (None, 0):
            status = FAILED
        error = reason = None
        if status == FAILED:
            error = info.get("error") or state.error or describe_exit_code(code)
            reason = self._failure_reason(job, state)
        elif self.source.check_job_completeness():
            missing = set(self.source.missing_branches()) & set(job.branches)
            if missing:
                status, error = FAILED, f"finished, but outputs of branches {join_ranges(missing)} are missing"
                reason = EXIT_CODE
        job.state, job.exit_code, job.error, job.ended = status, code, error, time.time()
        job.reason = reason
        job.usage = usage_of_status(info)
        if status == FINISHED:
            self.finished.update(b for b in job.branches if b in self.selected)
        else:
            self._retry_later.append(job)
        return True

    # -- ending ---------------------------------------------------------------------------------

    def _judge(self, t0: float) -> LoopResult | None:
        n_total = len(self.selected)
        done = self._n_done()
        failed = self._failed_branches()
        active = self.relevant_active()
        counts = self._counts()
        assert self.line is not None
        self.line.update(counts, done, n_total)
        self.source.publish_progress(100.0 * done / max(1, n_total))
        acc, required = self.settings.acceptance, self._required()
        allowed = self.source.allowed_failures(n_total)
        if len(failed) > allowed:
            return self._result(False, f"{len(failed)} of {n_total} branches failed, tolerance "
                                f"allows {allowed:g}", active)
        if done >= required and active:
            return self._result(True, f"acceptance reached: {done} of {n_total} branches done "
                                f"(acceptance {acc:g})", active)
        if not active and not self._retry_later and not self.n_waiting():
            return self._result(True, f"{done} of {n_total} branches done", active)
        poll_data = PollData(self.settings.parallel_jobs, required, allowed, len(active), counts)
        if self.source.poll_callback(poll_data) is False:
            return self._result(True, "polling stopped by the poll callback", active)
        walltime = self.settings.walltime
        if walltime and time.time() - t0 > walltime:
            return self._result(False, f"walltime of {walltime:g} s exceeded while polling", active)
        return None

    def _counts(self) -> dict[str, int]:
        """Jobs of this run per state; failed jobs that will be retried count as "retry"."""
        counts: dict[str, int] = {}
        retry = {j.num for j in self._retry_later} | set(self._waiting_retry)
        for num in self.touched:
            job = self.ledger.jobs[num]
            state = "retry" if num in retry else job.state
            counts[state] = counts.get(state, 0) + 1
        if self._waiting_new:
            counts["waiting"] = len(self._waiting_new)
        return counts

    def _result(self, ok: bool, reason: str, active: list[JobRecord]) -> LoopResult:
        # jobs that ended since the last query (the loop may end on a sibling's failure) leave
        # the ledger with their final state, not "running"
        if self.ledger.settle():
            self.ledger.save()
            active = [j for j in active if j.active]
        lines = []
        for job in sorted(self.failed_final.values(), key=lambda j: j.num):
            why = f" ({job.reason})" if job.reason and job.reason != EXIT_CODE else ""
            lines.append(f"job {job.num} (branches {join_ranges(job.branches)}): {job.error}{why}; "
                         f"attempts {job.attempt}; log: {job.log}")
        if len(lines) > 20:
            lines = lines[:10] + [f"... {len(lines) - 20} more ..."] + lines[-10:]
        if active:
            lines.append(f"{len(active)} jobs are still active; run the same command again to "
                         "attach to them, or with --cancel-jobs to cancel them")
        if self.n_resubmitted:
            lines.append(f"{self.n_resubmitted} job(s) were resubmitted after failures")
        return LoopResult(ok, f"{self.source.label}: {reason}", lines, n_active=len(active))


def usage_of_status(info: dict[str, Any]) -> dict[str, Any] | None:
    """What the ledger keeps of a job's cost: host, start, end, CPU and peak RSS of its node."""
    usage = {k: info[k] for k in ("host", "start", "end", "cpu_s", "maxrss_mb")
             if info.get(k) is not None}
    return usage or None



