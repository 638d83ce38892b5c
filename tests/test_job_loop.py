"""
Pieces of the job loop that need no batch system. The loop itself (submitting, polling,
resubmitting, re-attaching) runs against the real Slurm in tests/integration/test_slurm*.py.
"""

from __future__ import annotations

import json
import time

from pipekit.job.base import EXIT_CODE, FAILED, LOST, OOM, UNKNOWN, JobState
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
