"""The report's numbers: states and success rate, and requested against used resources."""

from __future__ import annotations

from pipekit.report.collect import Attempt, BranchAttempt, WorkflowRun
from pipekit.report.summary import percentile, right_sizing, summarize


def _wf(attempts, wtype="slurm", n=None):
    return WorkflowRun("/l.json", "Wf", wtype, "Wf()", n, attempts)


def _job(num, attempt, state, mem, wall, reason=None, requested=None, t=0.0):
    a = Attempt(job=num, attempt=attempt, branches=[num], state=state, submitted=t,
                started=t + 1, ended=t + 1 + wall, reason=reason, maxrss_mb=mem, cpu_s=wall,
                requested=requested or {})
    a.rows = [BranchAttempt(num, state, t + 1, t + 1 + wall, wall, mem)]
    return a


def test_a_branch_finished_by_a_retry_counts_as_done_and_the_failure_by_its_reason():
    wf = _wf([_job(0, 1, "failed", 100, 5, reason="oom"), _job(0, 2, "finished", 100, 5, t=10),
              _job(1, 1, "finished", 100, 5), _job(2, 1, "running", None, 0)], n=4)
    wf.attempts[-1].ended = None
    s = summarize([wf], now=100.0)
    assert (s.n_branches, s.n_done, s.branches["failed"]) == (4, 2, 0)
    assert s.reasons == {"oom": 1} and s.success_rate == 2 / 3
    assert s.active and s.wall_s == 100.0  # an active attempt runs until now
    assert s.cpu_s == 15.0


def test_right_sizing_suggests_headroom_over_the_largest_use():
    req = {"memory_mb": 8000.0, "walltime_s": 36000.0}
    wf = _wf([_job(i, 1, "finished", 900 + i * 10, 600 + i, requested=req) for i in range(11)])
    mem, wall = right_sizing(wf)
    assert (mem.requested, mem.used_max, mem.used_median) == (8000.0, 1000.0, 950.0)
    assert mem.suggestion == 1200.0  # 1000 MB * 1.2, in steps of 100 MB
    assert "requested 8x the most used" == mem.note
    assert wall.used_max == 610.0 and wall.suggestion == 960.0  # 610 s * 1.5 -> whole minutes


def test_jobs_killed_at_the_limit_ask_for_more_not_less():
    req = {"memory_mb": 2000.0}
    wf = _wf([_job(0, 1, "failed", 1990, 60, reason="oom", requested=req),
              _job(1, 1, "finished", 500, 60, requested=req)])
    mem, _ = right_sizing(wf)
    assert mem.suggestion == 4000.0 and "1 job(s) hit the limit" in mem.note


def test_percentiles_interpolate():
    assert percentile([1, 2, 3, 4], 0.5) == 2.5 and percentile([], 0.5) is None
