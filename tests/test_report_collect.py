"""Reading ledgers and exit-status files into job attempts and branch attempts."""

from __future__ import annotations

import json

import pytest

from pipekit.job.base import SubmissionPlan
from pipekit.job.ledger import SubmissionLedger
from pipekit.report.collect import load_workflow, log_tail


def _plan(tmp_path, tag, nums):
    d = tmp_path / "jobs" / tag
    d.mkdir(parents=True, exist_ok=True)
    return SubmissionPlan(tag=tag, directory=str(d), job_nums=nums, job_name=f"pk_{tag}", cwd="")


def _status(path, **data):
    with open(path, "w") as f:
        json.dump(data, f)


@pytest.fixture
def retried(tmp_path):
    """Job 0 ran branches 0-1, branch 1 failed; its second attempt ran branch 1 alone."""
    ledger = SubmissionLedger(str(tmp_path / "jobs" / "ledger.json"),
                              {"family": "Wf", "type": "slurm", "task": "Wf(n=2)", "branches": 2})
    job = ledger.new_job([0, 1])
    first = _plan(tmp_path, "a", [0])
    ledger.begin_submission(first, {0: [0, 1]})
    ledger.submissions["a"]["requested"] = {"memory_mb": 2000.0, "walltime_s": 600.0}
    ledger.confirm_submission("a", ["7_0"])
    t0 = job.submitted
    _status(first.status_file(0), host="node1", start=t0 + 3, end=t0 + 8, tag="a", exit_code=1, branches=[0, 1],
            error="branch 1: ValueError: bad", cpu_s=4.5, maxrss_mb=300.0,
            failed={"1": {"error": "ValueError: bad", "traceback": "Traceback ...\nValueError: bad"}},
            branch_usage={"0": {"start": t0 + 3.2, "end": t0 + 5, "cpu_s": 1.7, "maxrss_mb": 250.0},
                          "1": {"start": t0 + 5, "end": t0 + 8, "cpu_s": 2.8, "maxrss_mb": 300.0}})
    with open(first.log_file(0), "w") as f:
        f.write("".join(f"line {i}\n" for i in range(100)))
    job.state, job.exit_code, job.error, job.reason, job.ended = "failed", 1, "branch 1: ValueError: bad", "exit_code", t0 + 9
    second = _plan(tmp_path, "b", [0])
    ledger.begin_submission(second, {0: [1]})
    ledger.confirm_submission("b", ["8_0"])
    t1 = job.submitted
    _status(second.status_file(0), host="node2", start=t1 + 1, end=t1 + 2, tag="b", exit_code=0, branches=[1],
            failed={}, cpu_s=1.0, maxrss_mb=100.0,
            branch_usage={"1": {"start": t1 + 1.1, "end": t1 + 2, "cpu_s": 0.8, "maxrss_mb": 90.0}})
    job.state, job.exit_code, job.ended = "finished", 0, t1 + 2.5
    ledger.save()
    return ledger.path, t0, t1


def test_each_attempt_of_a_job_is_a_bar_and_each_branch_in_it_a_row(retried):
    path, t0, t1 = retried
    wf = load_workflow(path)
    assert (wf.family, wf.type, wf.n_branches) == ("Wf", "slurm", 2)
    first, second = wf.attempts
    assert [(a.job, a.attempt, a.batch_id, a.state) for a in wf.attempts] == [
        (0, 1, "7_0", "failed"), (0, 2, "8_0", "finished")]
    assert first.queue_s == pytest.approx(3.0) and first.wall_s == pytest.approx(5.0)
    assert (first.host, first.cpu_s, first.maxrss_mb) == ("node1", 4.5, 300.0)
    assert first.requested == {"memory_mb": 2000.0, "walltime_s": 600.0}
    assert second.requested == {}
    rows = {(a.attempt, r.branch): r for a, r in wf.rows}
    assert sorted(rows) == [(1, 0), (1, 1), (2, 1)]
    assert rows[1, 0].state == "finished" and rows[1, 0].wall_s == pytest.approx(1.8)
    assert rows[1, 1].state == "failed" and rows[1, 1].traceback.endswith("ValueError: bad")
    assert rows[2, 1].state == "finished" and rows[2, 1].maxrss_mb == 90.0
    assert wf.branch_states() == {0: "finished", 1: "finished"}  # the retry finished branch 1


def test_an_older_ledger_finds_status_files_by_their_log_paths(retried):
    path, _, _ = retried
    data = json.loads(open(path).read())
    for rec in data["jobs"].values():
        for entry in rec["history"]:
            for key in ("status_file", "branches", "submitted", "ended", "usage"):
                entry.pop(key)  # what ledgers before the report kept of an attempt
    with open(path, "w") as f:
        json.dump(data, f)
    first = load_workflow(path).attempts[0]
    assert first.host == "node1" and [r.branch for r in first.rows] == [0, 1]


def test_a_pending_job_has_no_start_and_its_branches_are_pending(tmp_path):
    ledger = SubmissionLedger(str(tmp_path / "ledger.json"), {"family": "Wf", "type": "htcondor"})
    ledger.new_job([0, 1, 2])
    ledger.begin_submission(_plan(tmp_path, "p", [0]), {0: [0, 1, 2]})
    ledger.confirm_submission("p", ["100.0"])
    ledger.save()
    (a,) = load_workflow(ledger.path).attempts
    assert (a.state, a.started, a.queue_s, a.active) == ("pending", None, None, True)
    assert [r.state for r in a.rows] == ["pending"] * 3


def test_log_tail_gives_the_last_lines(retried, tmp_path):
    log = tmp_path / "jobs" / "a" / "log_0.txt"
    assert log_tail(str(log), lines=3) == "line 97\nline 98\nline 99"
    assert log_tail(str(tmp_path / "missing.txt")) == ""


def test_a_file_that_is_no_ledger_is_refused(tmp_path):
    path = tmp_path / "x.json"
    path.write_text('{"a": 1}')
    with pytest.raises(ValueError, match="not a pipekit ledger"):
        load_workflow(str(path))
