"""
Stage-out files on the real single-node Slurm of ``tests/infra/slurm.sh``: the file a job
sources after its branches ran (``slurm_stageout_file()`` or ``[slurm] stageout_file``), with
their exit code as ``$1``; a failing one fails the job with exit code 4 and the error in the
summary, and the job is resubmitted per ``--retries``; a cancelled job is not staged out.
"""

from __future__ import annotations

import pytest
from slurm_helpers import (
    FAST,
    cancel_once,
    ledger_jobs,
    run_pipekit,
    start_pipekit,
)

pytestmark = [pytest.mark.slurm, pytest.mark.timeout(180), pytest.mark.usefixtures("slurm_cluster")]


@pytest.fixture
def staged(tmp_path):
    path = tmp_path / "staged"
    path.mkdir()
    return path


def counting_stageout(tmp_path, fails: int) -> str:
    """A stage-out file that fails its first *fails* runs (counted in a file), then succeeds."""
    script = tmp_path / "stageout.sh"
    count = tmp_path / "stageout_runs"
    script.write_text(f'n=$(cat "{count}" 2>/dev/null || echo 0); echo $((n + 1)) > "{count}"\n'
                      f'echo "stage-out run $((n + 1))"\n'
                      f'[ "$n" -ge {fails} ] || exit 1\n')
    return str(script)


def test_stageout_hook_copies_the_outputs_after_the_branches_ran_even_when_one_failed(
        tmp_path, out, staged, shims):
    script = tmp_path / "copy_out.sh"
    script.write_text(f'echo "$1" > "{staged}/code_$SLURM_ARRAY_TASK_ID"\n'
                      f'cp "{out}"/char_*.json "{staged}"/\n')
    proc = run_pipekit(tmp_path, "CharsStagedOut", "--out", str(out), "--n", "4",
                       "--stageout", str(script), "--tasks-per-job", "2", "--always-fail", "3",
                       "--retries", "0", *FAST, shims=shims)
    assert proc.returncode == 40, proc.stdout
    assert "branch 3 always fails" in proc.stdout, proc.stdout
    # job 1 ran branches 2 (fine) and 3 (failed): its stage-out still saved branch 2
    assert sorted(p.name for p in staged.glob("char_*.json")) == ["char_0.json", "char_1.json",
                                                                   "char_2.json"]
    assert (staged / "code_0").read_text() == "0\n" and (staged / "code_1").read_text() == "1\n"
    assert len(shims.calls("sbatch")) == 1


def test_failing_stageout_fails_the_job_which_is_resubmitted_and_then_succeeds(
        tmp_path, out, shims):
    (tmp_path / "law.cfg").write_text(f"[slurm]\nstageout_file: {counting_stageout(tmp_path, 1)}\n")
    proc = run_pipekit(tmp_path, "Chars", "--out", str(out), "--n", "1", "--retries", "1", *FAST,
                       shims=shims)
    assert proc.returncode == 0, proc.stdout
    assert "failed: sourcing the stage-out file " in proc.stdout
    assert "resubmitting (1/1)" in proc.stdout
    job = ledger_jobs(out)[0]
    # resubmitted although its output existed: the stage-out had not done its part
    assert job["state"] == "finished" and job["attempt"] == 2
    assert job["history"][0]["exit_code"] == 4
    assert "stage-out run 1" in open(job["history"][0]["log"]).read()
    assert len(shims.calls("sbatch")) == 2


def test_stageout_that_always_fails_ends_the_workflow_failed_after_the_retries(
        tmp_path, out, shims):
    (tmp_path / "law.cfg").write_text(f"[slurm]\nstageout_file: {counting_stageout(tmp_path, 9)}\n")
    proc = run_pipekit(tmp_path, "Chars", "--out", str(out), "--n", "1", "--retries", "1", *FAST,
                       shims=shims)
    assert proc.returncode == 40, proc.stdout
    assert "failed after 2 attempt(s): sourcing the stage-out file " in proc.stdout
    assert "1 of 1 branches failed" in proc.stdout
    assert ledger_jobs(out)[0]["exit_code"] == 4
    assert len(shims.calls("sbatch")) == 2
    assert (tmp_path / "stageout_runs").read_text() == "2\n"


def test_cancelled_job_is_not_staged_out_and_its_resubmission_is(tmp_path, out, staged):
    script = tmp_path / "record.sh"
    script.write_text(f'echo "$1" >> "{staged}/codes"\n')
    proc = start_pipekit(tmp_path, "CharsStagedOut", "--out", str(out), "--n", "1",
                         "--stageout", str(script), "--sleep-first", "60", "--retries", "1", *FAST)
    _, stdout = cancel_once(proc, out, 0, out / ".attempted_0", "branch 0 to start")
    assert proc.returncode == 0, stdout
    job = ledger_jobs(out)[0]
    assert job["attempt"] == 2 and job["history"][0]["exit_code"] == 143
    assert (staged / "codes").read_text() == "0\n"  # only the resubmitted job staged out


def test_job_cancelled_during_its_stageout_is_resubmitted_with_all_its_branches(
        tmp_path, out, staged):
    # the first stage-out hangs (a slow copy), and the job is cancelled in the middle of it: the
    # branch's output exists, but it never reached the staged area
    script = tmp_path / "slow_copy.sh"
    script.write_text(f'if [ ! -e "{tmp_path}/stageout_started" ]; then\n'
                      f'    touch "{tmp_path}/stageout_started"; sleep 60\n'
                      f'fi\n'
                      f'cp "{out}"/char_*.json "{staged}"/\n')
    proc = start_pipekit(tmp_path, "CharsStagedOut", "--out", str(out), "--n", "1",
                         "--stageout", str(script), "--retries", "1", *FAST)
    _, stdout = cancel_once(proc, out, 0, tmp_path / "stageout_started", "the stage-out to start")
    assert proc.returncode == 0, stdout
    assert "failed (cancelled): the job ended while sourcing the stage-out file " in stdout
    assert "slow_copy.sh (cancelled, out of time or its node failed)" in stdout
    job = ledger_jobs(out)[0]
    assert job["attempt"] == 2 and job["history"][0]["exit_code"] == 4
    assert sorted(p.name for p in staged.iterdir()) == ["char_0.json"]  # the retry staged it out
