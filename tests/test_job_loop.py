"""
Pieces of the job loop that need no batch system. The loop itself (submitting, polling,
resubmitting, re-attaching) runs against the real Slurm in tests/integration/test_slurm*.py.
"""

from __future__ import annotations

import json
import time

from pipekit.job.base import (
    EVICTED,
    EXIT_CODE,
    FAILED,
    LOST,
    OOM,
    PREEMPTED,
    UNKNOWN,
    WALLTIME,
    JobState,
)
from pipekit.job.ledger import SubmissionLedger
from pipekit.job.loop import JobLoop, LoopResult, LoopSettings, chunk_branches, new_tag
from pipekit.job.node import EXIT_STAGEOUT_FAILED


def test_branches_are_cut_into_jobs_of_tasks_per_job():
    assert chunk_branches([0, 1, 2, 3, 4], 2) == [[0, 1], [2, 3], [4]]
    assert chunk_branches([5, 9], 10) == [[5, 9]]
    assert chunk_branches([1, 2], 0) == [[1], [2]]


def test_shuffled_jobs_keep_every_branch_once():
    chunks = chunk_branches(list(range(100)), 3, shuffle=True)
    assert sorted(b for c in chunks for b in c) == list(range(100))
    assert all(c == sorted(c) for c in chunks)  # jobs move, their branches stay together


def test_submission_tags_are_unique_and_fit_a_job_name():
    tags = {new_tag() for _ in range(1000)}
    assert len(tags) == 1000 and all(len(t) == 12 and t.isalnum() for t in tags)


def test_loop_result_text_lists_its_lines_under_the_reason():
    r = LoopResult(False, "Wf[slurm]: 1 of 4 branches failed", ["job 3 (branches 3): boom"])
    assert r.text() == "Wf[slurm]: 1 of 4 branches failed\n  job 3 (branches 3): boom"


class _Source:
    label = "Wf[test]"

    def selected_branches(self):
        return [0]


class _Manager:
    batch_system = "TestBatch"


def test_a_job_sourcing_its_stageout_file_is_not_judged_by_its_status_file_until_it_is_gone(
        tmp_path):
    # the batch script marks the status file like this while the stage-out file runs; a job the
    # batch system does not list for a moment must not be ended with that (not yet true) error
    status = tmp_path / "status_0.json"
    status.write_text(json.dumps({"exit_code": 4, "error": "the job ended while sourcing the "
                                  "stage-out file so.sh", "stageout": "running"}))
    ledger = SubmissionLedger(str(tmp_path / "ledger.json"))
    job = ledger.new_job([0])
    job.job_id, job.status_file = "7_0", str(status)
    loop = JobLoop(_Source(), _Manager(), ledger, LoopSettings(poll_interval=0.0, lost_grace=0.2))

    assert loop._update(job, None) and job.state == UNKNOWN  # not final: may still be running
    time.sleep(0.3)  # gone for longer than the grace time: it ended during its stage-out
    assert loop._update(job, None)
    assert (job.state, job.exit_code) == (FAILED, EXIT_STAGEOUT_FAILED)
    assert "while sourcing the stage-out file" in job.error

    # the node's own status, put back after the stage-out returned, is final at once
    status.write_text(json.dumps({"exit_code": 1, "error": "branch 0: RuntimeError: boom"}))
    other = ledger.new_job([0])
    other.job_id, other.status_file = "7_1", str(status)
    assert loop._update(other, None)
    assert (other.state, other.exit_code, other.error) == (FAILED, 1, "branch 0: RuntimeError: boom")


def test_the_ledger_records_why_each_failed_job_failed(tmp_path):
    # the backend's reason is kept; a failure the backend cannot explain is an exit code; a
    # job that left the batch system without a trace is lost
    ledger = SubmissionLedger(str(tmp_path / "ledger.json"))
    loop = JobLoop(_Source(), _Manager(), ledger, LoopSettings(poll_interval=0.0, lost_grace=0.0))
    oom, plain, lost = ledger.new_job([0]), ledger.new_job([0]), ledger.new_job([0])
    for n, job in enumerate((oom, plain, lost)):
        job.job_id, job.status_file = f"7_{n}", str(tmp_path / f"status_{n}.json")

    assert loop._update(oom, JobState("7_0", FAILED, None, "OUT_OF_MEMORY", "sacct", reason=OOM))
    assert loop._update(plain, JobState("7_1", FAILED, 1, None, "sacct"))
    assert loop._update(lost, None)
    assert [(j.state, j.reason) for j in (oom, plain, lost)] == [
        (FAILED, OOM), (FAILED, EXIT_CODE), (FAILED, LOST)]
    ledger.save()
    again = SubmissionLedger.load(ledger.path)
    assert [again.jobs[j.num].reason for j in (oom, plain, lost)] == [OOM, EXIT_CODE, LOST]


def test_a_job_that_left_the_queue_is_judged_by_what_slurm_wrote_into_its_log(tmp_path):
    from pipekit.batch.slurm import SlurmJobManager

    ledger = SubmissionLedger(str(tmp_path / "ledger.json"))
    loop = JobLoop(_Source(), SlurmJobManager(), ledger, LoopSettings(poll_interval=0.0))
    job = ledger.new_job([0])
    job.job_id, job.status_file, job.log = "7_0", str(tmp_path / "s.json"), str(tmp_path / "log")
    (tmp_path / "s.json").write_text(json.dumps({"exit_code": 143, "error": "terminated by SIGTERM"}))
    (tmp_path / "log").write_text("pipekit job 0 attempt 1: ...\nslurmstepd-vm: error: *** JOB 7 "
                                  "ON vm CANCELLED AT 2026-12-06T20:30:01 DUE TO TIME LIMIT ***\n")
    assert loop._update(job, None)  # only the exit-status file is left: no accounting
    assert (job.state, job.exit_code, job.reason) == (FAILED, 143, WALLTIME)


class _Batch:
    """A batch system for the loop's resubmission logic: it accepts every submission."""

    batch_system = "TestBatch"

    def __init__(self):
        self.plans = []

    def max_jobs_per_submission(self):
        return None

    def submit(self, plan, script, config):
        self.plans.append(plan)
        return [f"{len(self.plans)}_{i}" for i in range(len(plan))]


class _RetrySource(_Source):
    def __init__(self, tmp_path):
        self.tmp_path = tmp_path
        self.configs = []

    def missing_branches(self):
        return [0, 1, 2, 3]

    def new_plan(self, tag, job_nums):
        from pipekit.job.base import SubmissionPlan

        return SubmissionPlan(tag, str(self.tmp_path / tag), job_nums, f"pk_{tag}", "")

    def prepare_submission(self, plan, branches, attempts):
        from pipekit.batch.slurm import SlurmJobConfig

        config = SlurmJobConfig(memory="1G", walltime=60)
        config.jobs = dict(plan.attempts)
        self.configs.append(config)
        return "job.sh", config


def failed_jobs(loop, ledger, reasons):
    jobs = []
    for n, reason in enumerate(reasons):
        job = ledger.new_job([n])
        job.attempt, job.state, job.reason, job.error = 1, FAILED, reason, f"failed ({reason})"
        jobs.append(job)
    loop._retry_later = list(jobs)
    loop._handle_failures()
    return jobs


def test_retries_go_out_in_one_submission_per_resource_escalation(tmp_path):
    ledger = SubmissionLedger(str(tmp_path / "ledger.json"))
    batch, source = _Batch(), _RetrySource(tmp_path)
    loop = JobLoop(source, batch, ledger, LoopSettings(retries=2), say=lambda m: None)
    failed_jobs(loop, ledger, [OOM, EXIT_CODE, OOM, WALLTIME])
    loop.submit_waiting()
    assert [p.job_nums for p in batch.plans] == [[0, 2], [1], [3]]
    first = batch.plans[0].attempts
    assert (first[0].attempt, first[0].reasons, first[2].last_reason) == (2, [OOM], OOM)
    # what each attempt asked for is kept in the ledger (--print-status shows it)
    assert ledger.jobs[0].resources == {"memory": "1G", "walltime": 60}


def test_preemptions_are_resubmitted_without_using_up_retries(tmp_path):
    ledger = SubmissionLedger(str(tmp_path / "ledger.json"))
    messages = []
    loop = JobLoop(_RetrySource(tmp_path), _Batch(), ledger, LoopSettings(retries=0),
                   say=messages.append)
    failed_jobs(loop, ledger, [PREEMPTED, EVICTED, EXIT_CODE])
    assert sorted(loop._waiting_retry) == [0, 1] and list(loop.failed_final) == [2]
    assert "failed (preempted): failed (preempted); resubmitting (not counted against --retries)" \
        in messages[0]


def test_free_retries_are_capped_so_a_job_preempted_forever_ends(tmp_path):
    from pipekit.job.retry import RetryPolicy

    ledger = SubmissionLedger(str(tmp_path / "ledger.json"))
    settings = LoopSettings(retries=1, retry_policy=RetryPolicy(max_free_retries=2))
    loop = JobLoop(_RetrySource(tmp_path), _Batch(), ledger, settings, say=lambda m: None)
    job = failed_jobs(loop, ledger, [PREEMPTED])[0]
    for _ in range(3):  # two free, then the one of --retries
        assert 0 in loop._waiting_retry
        loop._waiting_retry.clear()
        job.state = FAILED
        loop._retry_later = [job]
        loop._handle_failures()
    assert 0 in loop.failed_final
