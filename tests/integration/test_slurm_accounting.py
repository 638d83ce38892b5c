"""
SlurmWorkflow on the real single-node Slurm *with* accounting (MariaDB + slurmdbd, switched on by
``SLURM_ACCOUNTING=1 tests/infra/slurm.sh start``): jobs that left the queue are answered by
``sacct``. To show that sacct — not the exit-status files — answered, the tests delete the
files the jobs wrote before re-attaching. The module switches accounting off again at the end.
"""

from __future__ import annotations

import json

import pytest
from slurm_helpers import (
    FAST,
    Shims,
    find_ledger,
    job_states,
    ledger_jobs,
    run_pipekit,
    slurm,
    start_cluster,
    wait_for,
)

pytestmark = [pytest.mark.slurm, pytest.mark.timeout(300)]


@pytest.fixture(scope="module", autouse=True)
def accounting_cluster(require_service):
    reason = start_cluster(accounting=True)
    require_service("slurm with accounting", reason is None, reason or "")
    yield
    start_cluster(accounting=False)


def _forget_job_files(out) -> None:
    """Remove what the jobs wrote (exit-status files, logs): only the batch system remains."""
    for pattern in ("pipekit_slurm_*/*/status_*.json", "pipekit_slurm_*/*/log_*.txt"):
        for path in out.glob(pattern):
            path.unlink()


def _wait_gone(ids: list[str]) -> None:
    wait_for(lambda: not job_states(ids), 120, "the jobs to leave the queue (MinJobAge)", 1.0)


def test_sacct_answers_for_jobs_that_left_the_queue(tmp_path):
    out = tmp_path / "out"
    shims = Shims(tmp_path / "shims")
    args = ("--out", str(out), "--n", "3", "--always-fail", "1", "--retries", "0", *FAST)
    first = run_pipekit(tmp_path, "Chars", *args, "--no-poll")
    assert first.returncode == 0, first.stdout
    ids = [j["job_id"] for j in ledger_jobs(out).values()]
    _wait_gone(ids)
    array = ids[0].split("_")[0]
    assert "COMPLETED" in slurm("sacct", "--noheader", f"--jobs={array}").stdout
    _forget_job_files(out)

    rerun = run_pipekit(tmp_path, "Chars", *args, shims=shims)
    assert rerun.returncode == 40, rerun.stdout
    jobs = ledger_jobs(out)
    assert [jobs[i]["state"] for i in range(3)] == ["finished", "failed", "finished"]
    assert jobs[1]["exit_code"] == 1  # sacct's ExitCode 1:0
    assert any(f"--jobs={array}" in c for c in shims.calls("sacct"))
    assert shims.calls("sbatch") == []


def test_crash_after_sbatch_is_recovered_through_sacct_when_the_jobs_are_gone(tmp_path):
    out = tmp_path / "out"
    shims = Shims(tmp_path / "shims")
    shims.write("sbatch", after="kill -9 $PPID")
    # both first attempts fail, so the re-run has work to do for jobs it must first find
    args = ("--out", str(out), "--n", "2", "--fail-once", "0,1", *FAST)
    crashed = run_pipekit(tmp_path, "Chars", *args, shims=shims)
    assert crashed.returncode != 0
    ledger = json.loads(find_ledger(out).read_text())
    (submission,) = ledger["submissions"].values()
    assert submission["state"] == "submitting"  # the ids were never recorded
    ids = slurm("squeue", "--noheader", "--array", "--states=all", "--format=%i",
                f"--name={submission['job_name']}").stdout.split()
    assert len(ids) == 2
    _wait_gone(ids)
    _forget_job_files(out)

    shims.write("sbatch")
    rerun = run_pipekit(tmp_path, "Chars", *args, shims=shims)
    assert rerun.returncode == 0, rerun.stdout
    assert "found the 2 jobs of submission" in rerun.stdout
    # the found jobs were judged failed by sacct and resubmitted as their second attempt:
    # the crashed run's sbatch plus one resubmission, and still only jobs 0 and 1
    assert len(shims.calls("sbatch")) == 2
    jobs = ledger_jobs(out)
    assert sorted(jobs) == [0, 1]
    assert {(j["state"], j["attempt"]) for j in jobs.values()} == {("finished", 2)}
    assert {j["history"][0]["exit_code"] for j in jobs.values()} == {1}
    assert sorted(p.name for p in out.glob("char_*.json")) == ["char_0.json", "char_1.json"]
