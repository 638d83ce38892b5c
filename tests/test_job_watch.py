"""Noticing successful jobs from their exit-status files between two status queries."""

from __future__ import annotations

import json
import os

from pipekit.job.ledger import SubmissionLedger
from pipekit.job.watch import PollStats, StatusFileWatch


def _jobs(tmp_path, stageout=False, n=3):
    ledger = SubmissionLedger(str(tmp_path / "ledger.json"))
    sub = tmp_path / "tag1"
    sub.mkdir()
    jobs = []
    for i in range(n):
        job = ledger.new_job([i])
        job.state, job.tag, job.job_id = "running", "tag1", f"7_{i}"
        job.status_file = str(sub / f"status_{i}.json")
        jobs.append(job)
    ledger.submissions["tag1"] = {"stageout": stageout}
    return ledger, jobs


def _status(job, **data):
    tmp = job.status_file + ".tmp"
    with open(tmp, "w") as f:
        json.dump(data, f)
    os.replace(tmp, job.status_file)


def test_only_jobs_whose_file_says_success_are_taken(tmp_path):
    ledger, (ok, bad, quiet) = _jobs(tmp_path)
    watch = StatusFileWatch()
    assert watch.succeeded(ledger.jobs.values(), ledger.submissions) == []
    _status(ok, exit_code=0)
    _status(bad, exit_code=1, error="branch 1: boom")  # why it failed: the batch system tells
    assert watch.succeeded(ledger.jobs.values(), ledger.submissions) == [ok]


def test_a_file_renamed_into_place_within_the_same_clock_tick_is_still_seen(tmp_path):
    ledger, (job, *_) = _jobs(tmp_path)
    watch = StatusFileWatch()
    directory = os.path.dirname(job.status_file)
    assert watch.succeeded(ledger.jobs.values(), ledger.submissions) == []
    before = os.stat(directory).st_mtime_ns
    _status(job, exit_code=0)
    os.utime(directory, ns=(before, before))  # as a coarse file-system clock leaves it
    assert watch.succeeded(ledger.jobs.values(), ledger.submissions) == [job]


def test_jobs_with_a_stageout_file_wait_for_the_batch_system(tmp_path):
    ledger, (job, *_) = _jobs(tmp_path, stageout=True)
    _status(job, exit_code=0)  # written before the stage-out file runs: not final
    assert StatusFileWatch().succeeded(ledger.jobs.values(), ledger.submissions) == []


def test_older_submissions_without_the_stageout_note_are_left_to_the_status_query(tmp_path):
    ledger, (job, *_) = _jobs(tmp_path)
    del ledger.submissions["tag1"]["stageout"]
    _status(job, exit_code=0)
    assert StatusFileWatch().succeeded(ledger.jobs.values(), ledger.submissions) == []


def test_a_file_marked_as_sourcing_the_stageout_is_not_success(tmp_path):
    ledger, (job, *_) = _jobs(tmp_path)
    _status(job, exit_code=0, stageout="running")
    assert StatusFileWatch().succeeded(ledger.jobs.values(), ledger.submissions) == []


def test_poll_stats_keep_the_cost_per_query_and_the_early_ends():
    stats = PollStats()
    for s in (0.010, 0.030, 0.020):
        data = stats.note_cycle(s)
    stats.note_early_ends(4)
    assert data == {"queries": 3, "cycle_ms_median": 20.0, "cycle_ms_max": 30.0}
    assert stats.data["early_ends"] == 4
