"""
SGEWorkflow against the real single-node Grid Engine (Son of Grid Engine 8.1.9) of
``tests/infra/sge.sh``, with accounting (qacct) on.

Each test runs ``pipekit run`` as a user does and checks what a user sees: outputs, exit codes,
printed messages, the ledger, and — through PATH shims that log and exec the real commands —
how often qsub / qstat / qacct ran.
"""

from __future__ import annotations

import json
import os
import signal
import time

import pytest
from sge_helpers import FAST, jobs, run_pipekit, sge, start_pipekit, task_states
from slurm_helpers import wait_for

pytestmark = [pytest.mark.sge, pytest.mark.timeout(240), pytest.mark.usefixtures("sge_cell")]


def outputs(out) -> list[str]:
    return sorted(p.name for p in out.glob("char_*.json"))


def expected(n: int, skip: tuple[int, ...] = ()) -> list[str]:
    return sorted(f"char_{i}.json" for i in range(n) if i not in skip)


def test_fifty_branches_in_ten_jobs_finish_with_one_qsub_and_one_qstat_per_cycle(
        tmp_path, out, sge_shims):
    t0 = time.time()
    proc = run_pipekit(tmp_path, "SgeChars", "--out", str(out), "--n", "50", "--tasks-per-job", "5",
                       *FAST, shims=sge_shims)
    wall = time.time() - t0
    assert proc.returncode == 0, proc.stdout
    assert outputs(out) == expected(50)
    assert "50 of 50 branches done" in proc.stdout
    qsub = sge_shims.calls("qsub")
    assert len(qsub) == 1 and " -t 1-10 " in qsub[0]
    ledger = jobs(out)
    assert len(ledger) == 10 and {j["state"] for j in ledger.values()} == {"finished"}
    array = ledger[0]["job_id"].split(".")[0]
    assert sorted(j["job_id"] for j in ledger.values()) == sorted(f"{array}.{i}" for i in range(1, 11))
    # one qstat -xml per poll cycle (0.5 s) for all ten tasks
    qstat = sge_shims.calls("qstat")
    assert 1 <= len(qstat) <= wall / 0.5 + 2
    assert set(qstat) == {"qstat -xml"}
    # qacct only for arrays with tasks that left the queue, at most one per cycle
    assert len(sge_shims.calls("qacct")) <= len(qstat)
    # task i writes log_i.txt, the log the ledger names for plan position i - 1
    for num, job in ledger.items():
        assert job["log"].endswith(f"log_{num + 1}.txt")
        assert os.path.exists(job["log"]) and os.path.exists(job["status_file"])


def test_parameter_values_reach_the_task_verbatim_and_nothing_is_executed(tmp_path, out):
    nasty = "a b 'single' \"double\" ; echo hi $(touch PWNED) `touch PWNED2` $HOME $TASK_ID \\ \nline 2"
    proc = run_pipekit(tmp_path, "SgeChars", "--out", str(out), "--n", "2", "--text", nasty, *FAST)
    assert proc.returncode == 0, proc.stdout
    for i in range(2):
        assert json.loads((out / f"char_{i}.json").read_text())["text"] == nasty
    assert list(tmp_path.rglob("PWNED*")) == []


def test_a_failing_branch_is_resubmitted_alone_and_an_always_failing_one_fails_the_workflow(
        tmp_path, out, sge_shims):
    # branches 2 and 3 share a job; only 2 fails on its first attempt. Branch 5 (always
    # failing) is slow, so that the workflow ends failed only after branch 2's retry is done
    proc = run_pipekit(tmp_path, "SgeChars", "--out", str(out), "--n", "6", "--tasks-per-job", "2",
                       "--fail-once", "2", "--always-fail", "5", "--retries", "1", "--sleep", "5",
                       "--slow", "5", *FAST, shims=sge_shims)
    assert proc.returncode == 40, proc.stdout  # a failed task: luigi retcode 40, as law
    assert outputs(out) == expected(6, skip=(5,))
    assert "branch 5 always fails" in proc.stdout and "failed after 2 attempt(s)" in proc.stdout
    ledger = jobs(out)
    assert ledger[1]["branches"] == [2] and ledger[1]["attempt"] == 2  # without branch 3
    assert ledger[1]["state"] == "finished"
    assert ledger[2]["state"] == "failed" and ledger[2]["reason"] == "exit_code"
    runs = [json.loads(line) for line in (out / ".runs.jsonl").read_text().splitlines()]
    assert sorted(r["branch"] for r in runs).count(3) == 1  # its sibling ran once
    qsub = sge_shims.calls("qsub")
    assert 2 <= len(qsub) <= 3 and " -t 1-3 " in qsub[0]
    assert all(" -t 1-3 " not in c for c in qsub[1:])


def test_qdel_of_a_running_task_is_detected_as_cancelled_and_resubmitted(tmp_path, out):
    proc = start_pipekit(tmp_path, "SgeChars", "--out", str(out), "--n", "2", "--sleep-first", "60",
                         "--slow", "1", "--retries", "2", *FAST)
    try:
        wait_for((out / ".attempted_1").exists, 90, "branch 1 to start")
        job_id = jobs(out)[1]["job_id"]
        assert task_states([job_id])[job_id] in ("r", "t")  # t: running, not yet reported
        sge("qdel", job_id)
        stdout, _ = proc.communicate(timeout=150)
    finally:
        proc.kill()
    assert proc.returncode == 0, stdout
    assert outputs(out) == expected(2)
    job = jobs(out)[1]
    assert job["attempt"] == 2 and job["history"][0]["job_id"] == job_id
    assert job["history"][0]["state"] == "failed"
    assert job["history"][0]["reason"] == "cancelled"  # qacct: failed 100, exit 137 (SIGKILL)
    assert "resubmitting" in stdout


def test_killed_submitter_rerun_reattaches_and_submits_nothing_twice(tmp_path, out, sge_shims):
    args = ("--out", str(out), "--n", "4", "--sleep", "8", *FAST)  # still running at the re-run
    proc = start_pipekit(tmp_path, "SgeChars", *args, shims=sge_shims)
    try:
        wait_for(lambda: any(j["state"] == "running" for j in jobs(out).values()), 90, "jobs to run")
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        proc.kill()
    assert outputs(out) != expected(4)
    rerun = run_pipekit(tmp_path, "SgeChars", *args, shims=sge_shims)
    assert rerun.returncode == 0, rerun.stdout
    assert "re-attached to 4 active jobs" in rerun.stdout
    assert outputs(out) == expected(4)
    assert len(sge_shims.calls("qsub")) == 1
    assert {j["attempt"] for j in jobs(out).values()} == {1}


def test_submitter_killed_between_qsub_and_ledger_write_is_recovered_by_job_name(
        tmp_path, out, sge_shims):
    sge_shims.write("qsub", after="kill -9 $PPID")
    args = ("--out", str(out), "--n", "3", "--sleep", "3", *FAST)
    crashed = run_pipekit(tmp_path, "SgeChars", *args, shims=sge_shims)
    assert crashed.returncode == -signal.SIGKILL
    assert {j["state"] for j in jobs(out).values()} == {"submitting"}
    sge_shims.write("qsub")
    rerun = run_pipekit(tmp_path, "SgeChars", *args, shims=sge_shims)
    assert rerun.returncode == 0, rerun.stdout
    assert "found the 3 jobs of submission" in rerun.stdout
    assert len(sge_shims.calls("qsub")) == 1
    assert outputs(out) == expected(3)
    assert {j["attempt"] for j in jobs(out).values()} == {1}


def test_a_task_over_its_walltime_fails_with_reason_walltime(tmp_path, out):
    (tmp_path / "law.cfg").write_text("[sge]\nwalltime: 2s\n")
    proc = run_pipekit(tmp_path, "SgeChars", "--out", str(out), "--n", "1", "--sleep", "40",
                       "--retries", "0", *FAST)
    assert proc.returncode == 40, proc.stdout  # a failed task: luigi retcode 40, as law
    job = jobs(out)[0]
    assert job["state"] == "failed" and job["reason"] == "walltime", job
    assert "failed 37" in job["error"]


def test_a_task_in_error_state_fails_with_its_reason_and_is_deleted(tmp_path, out):
    # stdin from a file that does not exist: the execd cannot start the task (state Eqw)
    (tmp_path / "law.cfg").write_text("[sge]\nqsub_args: -i /nonexistent/stdin\n")
    proc = run_pipekit(tmp_path, "SgeChars", "--out", str(out), "--n", "1", "--retries", "0",
                       *FAST)
    assert proc.returncode == 40, proc.stdout  # a failed task: luigi retcode 40, as law
    job = jobs(out)[0]
    assert job["state"] == "failed" and job["reason"] == "node_failure", job
    assert "/nonexistent/stdin" in job["error"]
    assert task_states([job["job_id"]]) == {}  # deleted, not left in Eqw


def test_cancel_jobs_deletes_the_active_tasks(tmp_path, out):
    args = ("--out", str(out), "--n", "2", "--sleep", "60", *FAST)
    proc = run_pipekit(tmp_path, "SgeChars", *args, "--no-poll")
    assert proc.returncode == 0, proc.stdout
    ids = [j["job_id"] for j in jobs(out).values()]
    assert set(task_states(ids)) == set(ids)
    cancel = run_pipekit(tmp_path, "SgeChars", *args, "--cancel-jobs")
    assert cancel.returncode == 0, cancel.stdout
    assert "cancelled 2 job(s)" in cancel.stdout
    wait_for(lambda: not task_states(ids), 30, "the tasks to leave the queue")
    assert {j["reason"] for j in jobs(out).values()} == {"cancelled"}


def test_job_config_hook_and_output_directory_hook_reach_the_job(tmp_path, out):
    jobs_dir = tmp_path / "jobs dir:with colon"
    proc = run_pipekit(tmp_path, "SgeCharsElsewhere", "--out", str(out), "--n", "2",
                       "--jobs-dir", str(jobs_dir), *FAST)
    assert proc.returncode == 0, proc.stdout
    data = json.loads((out / "char_0.json").read_text())
    assert data["env"] == "from-job-config"
    assert list(jobs_dir.glob("pipekit_sge_*/*/log_1.txt"))
    script = next(jobs_dir.glob("pipekit_sge_*/*/job.sh")).read_text()
    assert "#$ -ac first_job=0" in script


def test_a_task_over_its_walltime_is_resubmitted_with_a_longer_one_and_succeeds(tmp_path, out):
    # the retry policy on a second backend: h_rt 3 s kills the 8 s branch, h_rt 12 s fits it
    (tmp_path / "law.cfg").write_text("[sge]\nwalltime: 3s\n")
    proc = run_pipekit(tmp_path, "SgeWhere", "--out", str(out), "--n", "1", "--sleep", "8",
                       "--retries", "1", "--retry-walltime-factor", "4", *FAST)
    assert proc.returncode == 0, proc.stdout
    assert "failed (walltime): " in proc.stdout and "attempt 2 after walltime: time limit 3.0s -> 12s" in proc.stdout
    job = jobs(out)[0]
    assert (job["attempt"], job["history"][0]["reason"], job["resources"]) == (
        2, "walltime", {"walltime": 12})
    assert json.loads((out / "char_0.json").read_text())["seen"] == "attempt 2 after walltime"


def test_jobs_run_in_a_node_local_scratch_directory_and_remove_it(tmp_path, out):
    scratch = tmp_path / "node-scratch"
    scratch.mkdir()
    (tmp_path / "law.cfg").write_text(f"[sge]\nscratch_dir: {scratch}\n")
    proc = run_pipekit(tmp_path, "SgeWhere", "--out", str(out), "--n", "2", *FAST)
    assert proc.returncode == 0, proc.stdout
    for b in range(2):
        where = json.loads((out / f"char_{b}.json").read_text())
        assert os.path.dirname(where["cwd"]) == str(scratch) and where["job_dir"] == where["cwd"]
    assert list(scratch.iterdir()) == []
