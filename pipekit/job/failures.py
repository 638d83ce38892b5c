"""
What the job loop does with a failed job (:class:`FailureHandling`, a part of
:class:`~pipekit.job.loop.JobLoop`): why it failed (the batch system's reason, else what the
batch system wrote into the job's log), whether a resubmission uses up one of ``--retries``
(preemptions and evictions do not, up to the policy's limit), which branches it is resubmitted
with (only those whose outputs are still missing), and which waiting retries share one
submission (those with the same memory and time escalation).
"""

from __future__ import annotations

from pipekit.job.base import EXIT_CODE, FINISHED, JobAttempt, JobState
from pipekit.job.ledger import JobRecord
from pipekit.job.node import EXIT_STAGEOUT_FAILED
from pipekit.job.retry import escalation_key, failure_reasons, read_log_tail
from pipekit.ranges import join_ranges

__all__ = ["FailureHandling"]


class FailureHandling:
    """
    The failure half of :class:`~pipekit.job.loop.JobLoop`, which holds the state it uses:
    ``source``, ``manager``, ``ledger``, ``settings``, ``selected``, ``finished``,
    ``failed_final``, ``retries_used``, ``free_retries_used``, ``_retry_later`` (jobs ended as
    failed since the last cycle) and ``_waiting_retry`` (job num -> branches to resubmit).
    """

    def _next_retry_group(self, size: int) -> list[int]:
        """
        Up to *size* waiting retries that share their resource escalation (as many earlier
        out-of-memory and time-limit failures), so that one submission gets one memory and
        time request; the group of the longest-waiting job goes first.
        """
        nums = list(self._waiting_retry)
        key = escalation_key(self.ledger.jobs[nums[0]])
        return [n for n in nums if escalation_key(self.ledger.jobs[n]) == key][:size]

    def _job_attempts(self, nums: list[int]) -> dict[int, JobAttempt]:
        """The attempt each of *nums* is submitted as, with the failure reasons of its earlier ones."""
        jobs = self.ledger.jobs
        return {n: JobAttempt(n, jobs[n].attempt + 1, failure_reasons(jobs[n])) for n in nums}

    def _failure_reason(self, job: JobRecord, state: JobState) -> str:
        """
        The batch system's reason for the failure; when it gives none, or only "non-zero exit
        code" (a job that left the queue before a poll saw its state, a limit enforced by
        killing), what the batch system wrote into the job's log, else ``exit_code``.
        """
        if state.reason not in (None, EXIT_CODE):
            return state.reason
        from_log = getattr(self.manager, "reason_from_log", None)  # managers written for law lack it
        return (from_log(read_log_tail(job.log)) if from_log else None) or state.reason or EXIT_CODE

    def _charged_retry(self, job: JobRecord) -> bool:
        """
        Whether resubmitting *job* uses up one of ``--retries``: not after a preemption or an
        eviction (the job was not at fault), up to the policy's limit of such free retries.
        """
        policy = self.settings.retry_policy
        if not policy.is_free(job.reason):
            return True
        used = self.free_retries_used.get(job.num, 0)
        if used >= policy.max_free_retries:
            return True
        self.free_retries_used[job.num] = used + 1
        return False

    def _handle_failures(self) -> None:
        failed, self._retry_later = self._retry_later, []
        if not failed:
            return
        missing = set(self.source.missing_branches())
        retry: dict[int, list[int]] = {}
        for job in failed:
            todo = [b for b in job.branches if b in missing]
            if job.exit_code == EXIT_STAGEOUT_FAILED:
                todo = list(job.branches)  # present outputs, but its stage-out needs them again
            # siblings that did their work count now: a resubmission keeps only the branches
            # in *todo* in the job's record, so they would never be counted later
            self.finished.update(b for b in job.branches if b not in todo and b in self.selected)
            if not todo:
                job.state = FINISHED  # it failed late (e.g. while cleaning up) but did its work
                self.finished.update(b for b in job.branches if b in self.selected)
                continue
            used = self.retries_used.get(job.num, 0)
            where = f"; log: {job.log}" if job.log else ""
            why = f" ({job.reason})" if job.reason and job.reason != EXIT_CODE else ""
            if not self._charged_retry(job):
                retry[job.num] = todo
                self.say(f"{self.source.label}: job {job.num} (branches {join_ranges(todo)}) "
                         f"failed{why}: {job.error}{where}; resubmitting (not counted against "
                         f"--retries)")
            elif used < self.settings.retries:
                self.retries_used[job.num] = used + 1
                retry[job.num] = todo
                self.say(f"{self.source.label}: job {job.num} (branches {join_ranges(todo)}) "
                         f"failed{why}: {job.error}{where}; resubmitting ({used + 1}/{self.settings.retries})")
            else:
                self.failed_final[job.num] = job
                self.say(f"{self.source.label}: job {job.num} (branches {join_ranges(todo)}) "
                         f"failed{why} after {job.attempt} attempt(s): {job.error}{where}")
        self.ledger.save()
        self._waiting_retry.update(retry)

    def _failed_branches(self) -> set[int]:
        out: set[int] = set()
        for job in self.failed_final.values():
            out.update(b for b in job.branches if b in self.selected)
        return out - self.finished
