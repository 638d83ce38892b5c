"""
Pieces of the job loop that need no batch system. The loop itself (submitting, polling,
resubmitting, re-attaching) runs against the real Slurm in tests/integration/test_slurm*.py.
"""

from __future__ import annotations

from pipekit.job.loop import LoopResult, chunk_branches, new_tag


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
