"""The submission ledger: atomic, reloadable, one process at a time."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from pipekit.errors import JobError
from pipekit.job import jsonfile
from pipekit.job.base import SubmissionPlan
from pipekit.job.ledger import SUBMITTING, SubmissionLedger


def plan(tmp_path, tag: str, nums: list[int]) -> SubmissionPlan:
    return SubmissionPlan(tag=tag, directory=str(tmp_path / tag), job_nums=nums,
                          job_name=f"pk_X_{tag}", cwd=str(tmp_path), parallel=None)


def test_jobs_and_submissions_survive_a_reload(tmp_path):
    path = str(tmp_path / "l" / "ledger.json")
    ledger = SubmissionLedger.load(path, {"family": "X"})
    a, b = ledger.new_job([0, 1]), ledger.new_job([2])
    p = plan(tmp_path, "t1", [a.num, b.num])
    ledger.begin_submission(p, {a.num: a.branches, b.num: b.branches})
    ledger.confirm_submission("t1", ["5_0", "5_1"])
    ledger.save()

    again = SubmissionLedger.load(path)
    assert again.workflow == {"family": "X"}
    assert [(j.num, j.branches, j.state, j.job_id, j.attempt) for j in again.jobs.values()] == [
        (0, [0, 1], "pending", "5_0", 1), (1, [2], "pending", "5_1", 1)]
    assert again.jobs[1].log == p.log_file(1) and again.jobs[1].status_file == p.status_file(1)
    assert again.active_branches() == {0, 1, 2}
    assert again.new_job([3]).num == 2


def test_a_submission_is_recorded_before_its_ids_exist(tmp_path):
    ledger = SubmissionLedger.load(str(tmp_path / "ledger.json"))
    job = ledger.new_job([4])
    ledger.begin_submission(plan(tmp_path, "t", [job.num]), {job.num: [4]})
    ledger.save()
    again = SubmissionLedger.load(ledger.path)
    assert again.pending_submissions() == ["t"]
    assert again.jobs[0].state == SUBMITTING and again.jobs[0].active
    restored = again.plan_of("t")
    assert (restored.job_name, restored.job_nums) == ("pk_X_t", [0])


def test_abandoned_submission_fails_its_jobs_and_is_not_pending(tmp_path):
    ledger = SubmissionLedger.load(str(tmp_path / "ledger.json"))
    job = ledger.new_job([4])
    ledger.begin_submission(plan(tmp_path, "t", [job.num]), {job.num: [4]})
    ledger.abandon_submission("t", "sbatch: invalid partition")
    assert ledger.pending_submissions() == []
    assert job.state == "failed" and "invalid partition" in job.error
    assert not job.active


def test_resubmission_keeps_the_earlier_attempt_in_the_history(tmp_path):
    ledger = SubmissionLedger.load(str(tmp_path / "ledger.json"))
    job = ledger.new_job([0, 1, 2])
    ledger.begin_submission(plan(tmp_path, "a", [0]), {0: [0, 1, 2]})
    ledger.confirm_submission("a", ["7_0"])
    job.state, job.error, job.exit_code, job.reason = "failed", "branch 1: boom", 1, "exit_code"
    ledger.begin_submission(plan(tmp_path, "b", [0]), {0: [1]})
    assert (job.attempt, job.branches, job.tag, job.state) == (2, [1], "b", SUBMITTING)
    assert job.reason is None  # the new attempt has not failed (yet)
    first = plan(tmp_path, "a", [0])
    assert len(job.history) == 1
    assert job.history[0] == {"attempt": 1, "tag": "a", "job_id": "7_0", "state": "failed",
                              "exit_code": 1, "error": "branch 1: boom", "reason": "exit_code",
                              "log": first.log_file(0), "branches": [0, 1, 2],
                              "status_file": first.status_file(0),
                              "submitted": job.history[0]["submitted"], "ended": None,
                              "usage": None, "resources": None}
    assert job.history[0]["submitted"] <= job.submitted  # the report's queue wait needs both


def test_the_ledger_has_one_line_per_job_and_every_change_reaches_the_file(tmp_path):
    path = tmp_path / "ledger.json"
    ledger = SubmissionLedger.load(str(path))
    jobs = [ledger.new_job([b]) for b in range(3)]
    p = plan(tmp_path, "t1", [j.num for j in jobs])
    ledger.begin_submission(p, {j.num: j.branches for j in jobs})
    ledger.confirm_submission("t1", ["7_0", "7_1", "7_2"])
    ledger.save()
    jobs[1].state, jobs[1].error = "failed", 'exit code 3: "quoted"\nsecond line'
    ledger.save()  # only the changed job is encoded again; the file must still say it

    lines = path.read_text().splitlines()
    failed = [line for line in lines if '"state": "failed"' in line]
    assert len(failed) == 1 and '"job_id": "7_1"' in failed[0]  # grep finds the failed job
    assert json.loads(path.read_text())["jobs"]["1"]["error"] == jobs[1].error

    ledger.begin_submission(plan(tmp_path, "t2", [1]), {1: [1]})  # the retry keeps its history
    ledger.save()
    again = SubmissionLedger.load(str(path))
    assert [h["job_id"] for h in again.jobs[1].history] == ["7_1"]
    assert again.jobs[1].attempt == 2 and again.jobs[1].state == SUBMITTING
    assert again.jobs[0].state == "pending" and again.jobs[0].history == []


def test_a_broken_ledger_names_the_file_and_the_way_out(tmp_path):
    path = tmp_path / "ledger.json"
    path.write_text("{not json")
    with pytest.raises(JobError, match="--ignore-submission") as e:
        SubmissionLedger.load(str(path))
    assert str(path) in str(e.value)


def test_a_failed_write_leaves_the_previous_ledger_intact(tmp_path, monkeypatch):
    ledger = SubmissionLedger.load(str(tmp_path / "ledger.json"))
    ledger.new_job([0])
    ledger.save()
    before = (tmp_path / "ledger.json").read_text()

    def broken_fsync(fd):
        raise OSError("disk full")

    ledger.new_job([1])
    monkeypatch.setattr(jsonfile.os, "fsync", broken_fsync)  # the new content is half on disk
    with pytest.raises(OSError, match="disk full"):
        ledger.save()
    assert (tmp_path / "ledger.json").read_text() == before
    assert sorted(os.listdir(tmp_path)) == ["ledger.json"]


HOLDER = """
import sys, time
from pipekit.job.ledger import SubmissionLedger
with SubmissionLedger.lock(sys.argv[1]):
    print("locked", flush=True)
    time.sleep(60)
"""


def test_a_second_process_cannot_attach_while_the_first_holds_the_lock(tmp_path):
    path = str(tmp_path / "ledger.json")
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(HOLDER), path],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(JobError, match=f"another process \\(pid {holder.pid} on "):
            with SubmissionLedger.lock(path):
                pass
        holder.send_signal(signal.SIGKILL)  # a killed holder releases the lock with it
        holder.wait(timeout=10)
        with SubmissionLedger.lock(path):
            assert f"pid {os.getpid()}" in open(path + ".lock").read()
    finally:
        holder.kill()
        holder.wait()


def test_atomic_json_writes_leave_no_temporary_files(tmp_path):
    target = tmp_path / "d" / "x.json"
    jsonfile.write_json_atomic(str(target), {"a": [1, 2]})
    assert json.loads(target.read_text()) == {"a": [1, 2]}
    assert os.listdir(target.parent) == ["x.json"]


def test_settle_gives_unwatched_jobs_the_state_their_exit_status_file_records(tmp_path):
    import json

    from pipekit.job.base import SubmissionPlan
    from pipekit.job.ledger import SUBMITTING

    ledger = SubmissionLedger(str(tmp_path / "ledger.json"))
    jobs = [ledger.new_job([i]) for i in range(4)]
    plan = SubmissionPlan(tag="t1", directory=str(tmp_path), job_nums=[j.num for j in jobs],
                          job_name="pk_t1", cwd=str(tmp_path))
    ledger.begin_submission(plan, {j.num: j.branches for j in jobs})  # submitter killed here
    statuses = [{"exit_code": 0}, {"exit_code": 3, "error": "branch 1: boom"},
                {"exit_code": 4, "stageout": "running"}, None]  # 2 still stages out, 3 runs
    for i, info in enumerate(statuses):
        if info is not None:
            (tmp_path / f"status_{i}.json").write_text(json.dumps(info))
    assert ledger.settle() == 2
    assert [j.state for j in jobs] == ["finished", "failed", SUBMITTING, SUBMITTING]
    assert (jobs[1].exit_code, jobs[1].error, jobs[1].reason) == (3, "branch 1: boom", "exit_code")
    # jobs 2 and 3 may still be in the queue: the next run looks for the submission by name
    assert ledger.submissions["t1"]["state"] == SUBMITTING
    assert ledger.settle() == 0
    for i in (2, 3):
        (tmp_path / f"status_{i}.json").write_text(json.dumps({"exit_code": 0}))
    assert ledger.settle() == 2
    assert ledger.submissions["t1"]["state"] == "submitted"  # all of it reached the batch system
