"""
SlurmWorkflow against the real single-node Slurm of ``tests/infra/slurm.sh`` (no accounting:
``sacct`` is disabled, as on clusters without slurmdbd, where law 0.1.21 fails).

Each test runs ``pipekit run`` as a user does and checks what a user sees: outputs, exit codes,
printed messages, the ledger, and — through PATH shims that log and exec the real commands —
how often sbatch / squeue / sacct ran.
"""

from __future__ import annotations

import json
import os
import signal
import time

import pytest
from concurrency_helpers import most_at_once
from slurm_helpers import (
    FAST,
    cancel_once,
    find_ledger,
    job_states,
    ledger_jobs,
    queue_ids,
    restart_controller,
    run_pipekit,
    slurm,
    start_pipekit,
    wait_for,
)

pytestmark = [pytest.mark.slurm, pytest.mark.timeout(180), pytest.mark.usefixtures("slurm_cluster")]


def outputs(out) -> list[str]:
    return sorted(p.name for p in out.glob("char_*.json"))


def expected(n: int, skip: tuple[int, ...] = ()) -> list[str]:
    return sorted(f"char_{i}.json" for i in range(n) if i not in skip)


def test_fifty_branch_workflow_finishes_with_one_sbatch_and_every_output(tmp_path, out, shims):
    t0 = time.time()
    proc = run_pipekit(tmp_path, "Chars", "--out", str(out), "--n", "50", *FAST, shims=shims)
    wall = time.time() - t0
    assert proc.returncode == 0, proc.stdout
    assert outputs(out) == expected(50)
    assert len(shims.calls("sbatch")) == 1
    assert "--array=0-49" in shims.calls("sbatch")[0]
    assert "50 of 50 branches done" in proc.stdout
    jobs = ledger_jobs(out)
    assert len(jobs) == 50 and {j["state"] for j in jobs.values()} == {"finished"}
    # one squeue per poll cycle (0.5 s) for all 50 jobs, naming the one array, not 50 jobs
    array = jobs[0]["job_id"].split("_")[0]
    squeue = shims.calls("squeue")
    assert 1 <= len(squeue) <= wall / 0.5 + 2
    assert all(c.endswith(f"--jobs={array}") for c in squeue)
    assert len(shims.calls("sacct")) <= 1  # only asked whether accounting works


def test_parameter_values_reach_the_task_verbatim_and_nothing_is_executed(tmp_path, out):
    nasty = "a b 'single' \"double\" ; echo hi $(touch PWNED) `touch PWNED2` $HOME \\ \nsecond line"
    proc = run_pipekit(tmp_path, "Chars", "--out", str(out), "--n", "2", "--text", nasty, *FAST)
    assert proc.returncode == 0, proc.stdout
    for i in range(2):
        assert json.loads((out / f"char_{i}.json").read_text())["text"] == nasty
    leftovers = list(tmp_path.rglob("PWNED*")) + list(out.rglob("PWNED*"))
    assert leftovers == []


def test_failed_branch_is_resubmitted_and_an_always_failing_one_ends_the_workflow_failed(
        tmp_path, out, shims):
    # branch 4 is slow: the workflow ends failed (tolerance 0) only after branch 2's retry ran,
    # not while it still runs (the two retries run at the same time)
    proc = run_pipekit(tmp_path, "Chars", "--out", str(out), "--n", "6", "--fail-once", "2",
                       "--always-fail", "4", "--retries", "1", "--sleep", "3", "--slow", "4",
                       *FAST, shims=shims)
    assert proc.returncode == 40, proc.stdout
    # the others, including the one that failed once, are there and kept
    assert outputs(out) == expected(6, skip=(4,))
    assert "branch 4 always fails" in proc.stdout
    assert "failed after 2 attempt(s)" in proc.stdout
    jobs = ledger_jobs(out)
    assert jobs[2]["state"] == "finished" and jobs[2]["attempt"] == 2
    assert jobs[4]["state"] == "failed" and jobs[4]["attempt"] == 2
    assert os.path.exists(jobs[4]["log"]) and "always fails" in open(jobs[4]["log"]).read()
    # the first submission plus resubmissions of failed jobs only (2 and 4 together or apart)
    sbatch = shims.calls("sbatch")
    assert 2 <= len(sbatch) <= 3 and "--array=0-5" in sbatch[0]
    assert all("--array=0-5" not in c for c in sbatch[1:])


def test_scancel_of_a_running_job_is_detected_and_the_job_resubmitted(tmp_path, out):
    proc = start_pipekit(tmp_path, "Chars", "--out", str(out), "--n", "2", "--sleep-first", "60", "--slow", "1",
                         "--retries", "2", *FAST)
    # the branch marks its first attempt once it runs: cancel only after that
    job_id, stdout = cancel_once(proc, out, 1, out / ".attempted_1", "branch 1 to start")
    assert proc.returncode == 0, stdout
    assert outputs(out) == expected(2)
    job = ledger_jobs(out)[1]
    assert job["attempt"] == 2 and job["history"][0]["job_id"] == job_id
    assert job["history"][0]["state"] == "failed"
    assert "resubmitting" in stdout


def test_killed_submitter_rerun_reattaches_and_submits_nothing_twice(tmp_path, out, shims):
    args = ("--out", str(out), "--n", "4", "--sleep", "3", *FAST)
    proc = start_pipekit(tmp_path, "Chars", *args, shims=shims)
    try:
        wait_for(lambda: any(j["state"] == "running" for j in ledger_jobs(out).values()), 60,
                 "jobs to run")
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        proc.kill()
    assert outputs(out) != expected(4)  # killed mid-poll, before the jobs ended
    rerun = run_pipekit(tmp_path, "Chars", *args, shims=shims)
    assert rerun.returncode == 0, rerun.stdout
    assert "re-attached to 4 active jobs" in rerun.stdout
    assert outputs(out) == expected(4)
    assert len(shims.calls("sbatch")) == 1
    assert {j["attempt"] for j in ledger_jobs(out).values()} == {1}


def test_submitter_killed_between_sbatch_and_ledger_write_is_recovered_without_duplicates(
        tmp_path, out, shims):
    # the sbatch shim kills the submitting process right after the real sbatch returned, before
    # pipekit could record the job ids: the worst moment for a crash
    shims.write("sbatch", after="kill -9 $PPID")
    args = ("--out", str(out), "--n", "3", *FAST)
    crashed = run_pipekit(tmp_path, "Chars", *args, shims=shims)
    assert crashed.returncode == -signal.SIGKILL
    assert {j["state"] for j in ledger_jobs(out).values()} == {"submitting"}
    shims.write("sbatch")
    rerun = run_pipekit(tmp_path, "Chars", *args, shims=shims)
    assert rerun.returncode == 0, rerun.stdout
    assert "found the 3 jobs of submission" in rerun.stdout or "judging them by their exit-status" in rerun.stdout
    assert len(shims.calls("sbatch")) == 1
    assert outputs(out) == expected(3)
    assert {j["attempt"] for j in ledger_jobs(out).values()} == {1}


def test_loop_survives_a_slurmctld_restart_while_polling(tmp_path, out):
    proc = start_pipekit(tmp_path, "Chars", "--out", str(out), "--n", "3", "--sleep", "4",
                         "--poll-fails", "30", *FAST)
    try:
        wait_for(lambda: any(j["state"] == "running" for j in ledger_jobs(out).values()), 60,
                 "jobs to run")
        restart_controller()
        stdout, _ = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 0, stdout
    assert outputs(out) == expected(3)
    assert {j["attempt"] for j in ledger_jobs(out).values()} == {1}


def test_without_accounting_jobs_that_left_the_queue_are_judged_by_their_exit_status_files(
        tmp_path, out, shims):
    assert "disabled" in slurm("sacct", "--jobs=1", check=False).stderr
    args = ("--out", str(out), "--n", "3", "--always-fail", "1", "--retries", "0", *FAST)
    first = run_pipekit(tmp_path, "Chars", *args, "--no-poll", shims=shims)
    assert first.returncode == 0, first.stdout
    assert "not polling (--no-poll)" in first.stdout
    ids = [j["job_id"] for j in ledger_jobs(out).values()]
    wait_for(lambda: not job_states(ids), 90, "the jobs to leave the queue (MinJobAge)", 1.0)
    rerun = run_pipekit(tmp_path, "Chars", *args, shims=shims)
    assert rerun.returncode == 40, rerun.stdout
    jobs = ledger_jobs(out)
    assert [jobs[i]["state"] for i in range(3)] == ["finished", "failed", "finished"]
    # the exit-status file is the only source left: it carries the exit code and the exception
    assert jobs[1]["exit_code"] == 1
    assert jobs[1]["error"] == "branch 1: RuntimeError: branch 1 always fails"
    assert "1 of 3 branches failed" in rerun.stdout
    assert outputs(out) == expected(3, skip=(1,))
    assert len(shims.calls("sbatch")) == 1
    assert len(shims.calls("sacct")) <= 2  # asked whether accounting works, once per process


def test_dry_run_prints_the_batch_script_and_sbatch_command_and_submits_nothing(
        tmp_path, out, shims):
    proc = run_pipekit(tmp_path, "Chars", "--out", str(out), "--n", "3", "--parallel-jobs", "2",
                       "--dry-run", shims=shims)
    assert proc.returncode == 0, proc.stdout
    assert "----- batch script: " in proc.stdout and "#!/usr/bin/env bash" in proc.stdout
    assert "-m pipekit.job" in proc.stdout
    assert "sbatch --parsable --array=0-2%2 --job-name=pk_Chars_" in proc.stdout
    assert '"branches": [\n  0\n ]' in proc.stdout
    assert shims.calls("sbatch") == []
    assert not out.exists() or find_ledger(out) is None


def test_no_poll_returns_at_once_and_a_rerun_attaches_and_finishes(tmp_path, out, shims):
    args = ("--out", str(out), "--n", "3", "--sleep", "1", *FAST)
    t0 = time.time()
    first = run_pipekit(tmp_path, "Chars", *args, "--no-poll", shims=shims)
    assert first.returncode == 0, first.stdout
    assert time.time() - t0 < 20
    assert len(ledger_jobs(out)) == 3
    rerun = run_pipekit(tmp_path, "Chars", *args, shims=shims)
    assert rerun.returncode == 0, rerun.stdout
    assert outputs(out) == expected(3)
    assert len(shims.calls("sbatch")) == 1


def test_cancel_jobs_cancels_the_active_jobs_of_the_ledger(tmp_path, out):
    args = ("--out", str(out), "--n", "3", "--sleep", "120", *FAST)
    first = run_pipekit(tmp_path, "Chars", *args, "--no-poll")
    assert first.returncode == 0, first.stdout
    ids = [j["job_id"] for j in ledger_jobs(out).values()]
    wait_for(lambda: set(job_states(ids).values()) == {"RUNNING"}, 60, "the jobs to run")
    cancel = run_pipekit(tmp_path, "Chars", *args, "--cancel-jobs")
    assert cancel.returncode == 0, cancel.stdout
    assert "cancelled 3 job(s)" in cancel.stdout
    states = wait_for(lambda: (lambda s: s if set(s.values()) <= {"CANCELLED"} else None)(
        job_states(ids)), 30, "the jobs to be cancelled")
    assert set(states.values()) <= {"CANCELLED"}
    assert {j["error"] for j in ledger_jobs(out).values()} == {"cancelled with --cancel-jobs"}


def test_acceptance_ends_the_loop_early_and_leaves_the_slow_job_running(tmp_path, out):
    args = ("--out", str(out), "--n", "4", "--sleep", "120", "--slow", "3", *FAST)
    proc = run_pipekit(tmp_path, "Chars", *args, "--acceptance", "0.75")
    assert proc.returncode == 0, proc.stdout
    assert "acceptance reached: 3 of 4 branches done" in proc.stdout
    assert "1 jobs are still active" in proc.stdout
    assert outputs(out) == expected(3)
    slow_job = ledger_jobs(out)[3]
    assert slow_job["state"] in ("pending", "running")
    cancel = run_pipekit(tmp_path, "Chars", *args, "--cancel-jobs")
    assert cancel.returncode == 0 and "cancelled 1 job(s)" in cancel.stdout


def test_print_status_shows_job_states_and_log_paths(tmp_path, out):
    # the failing branch is slow: the workflow ends failed only after the others finished
    args = ("--out", str(out), "--n", "3", "--always-fail", "2", "--retries", "0", "--sleep", "3",
            "--slow", "2", *FAST)
    run = run_pipekit(tmp_path, "Chars", *args)
    assert run.returncode == 40
    # the loop ends at the first failure (tolerance 0): its siblings may still be running then
    wait_for(lambda: not set(queue_ids()) & {j["job_id"] for j in ledger_jobs(out).values()},
             60, "the jobs to leave the queue")
    status = run_pipekit(tmp_path, "Chars", *args, "--print-status", "0")
    assert status.returncode == 0, status.stdout
    assert "slurm jobs: 2 finished, 1 failed" in status.stdout
    log = ledger_jobs(out)[2]["log"]
    assert "job 2 (branches 2): failed, attempt 1" in status.stdout and f"log: {log}" in status.stdout
    full = run_pipekit(tmp_path, "Chars", *args, "--print-status", "0,1")
    assert full.stdout.count("log: ") == 3


def test_cleanup_jobs_removes_the_job_files_and_the_ledger(tmp_path, out):
    args = ("--out", str(out), "--n", "2", *FAST)
    assert run_pipekit(tmp_path, "Chars", *args).returncode == 0
    jobs_dir = find_ledger(out).parent
    clean = run_pipekit(tmp_path, "Chars", *args, "--cleanup-jobs")
    assert clean.returncode == 0, clean.stdout
    assert not jobs_dir.exists()
    assert outputs(out) == expected(2)


def test_tasks_per_job_job_workers_and_job_config_hook(tmp_path, out):
    jobs_dir = tmp_path / "jobs"
    proc = run_pipekit(tmp_path, "CharsElsewhere", "--out", str(out), "--jobs-dir", str(jobs_dir),
                       "--n", "6", "--tasks-per-job", "3", "--job-workers", "2", *FAST)
    assert proc.returncode == 0, proc.stdout
    assert outputs(out) == expected(6)
    jobs = ledger_jobs(jobs_dir)
    assert [j["branches"] for j in jobs.values()] == [[0, 1, 2], [3, 4, 5]]
    data = [json.loads((out / f"char_{i}.json").read_text()) for i in range(6)]
    assert {d["env"] for d in data} == {"from-job-config"}
    # two workers per job: branches ran in forked worker processes, not in the job's own
    for job in jobs.values():
        main_pid = json.loads(open(job["status_file"]).read())["pid"]
        assert main_pid not in {data[b]["pid"] for b in job["branches"]}
    script = (find_ledger(jobs_dir).parent / jobs[0]["tag"] / "job.sh").read_text()
    assert '#SBATCH --comment="first job 0"' in script


def test_bootstrap_file_is_sourced_before_python_and_its_failure_is_reported(tmp_path, out):
    good = tmp_path / "boot.sh"
    good.write_text("export PK_TEST_BOOTSTRAP=from-bootstrap\n")
    cfg = tmp_path / "law.cfg"
    cfg.write_text(f"[slurm]\nbootstrap_file: {good}\n")
    proc = run_pipekit(tmp_path, "Chars", "--out", str(out), "--n", "1", *FAST)
    assert proc.returncode == 0, proc.stdout
    assert json.loads((out / "char_0.json").read_text())["env"] == "from-bootstrap"

    bad = tmp_path / "bad.sh"
    bad.write_text("echo broken >&2\nfalse\n")
    cfg.write_text(f"[slurm]\nbootstrap_file: {bad}\n")
    out2 = tmp_path / "out2"
    proc = run_pipekit(tmp_path, "Chars", "--out", str(out2), "--n", "1", "--retries", "0", *FAST)
    assert proc.returncode == 40, proc.stdout
    assert "sourcing the bootstrap file" in proc.stdout and "failed" in proc.stdout


def test_jobs_of_another_selection_are_not_submitted_twice(tmp_path, out, shims):
    args = ("--out", str(out), "--n", "4", "--sleep", "2", *FAST)
    first = run_pipekit(tmp_path, "Chars", *args, "--branches", "0-1", "--no-poll", shims=shims)
    assert first.returncode == 0, first.stdout
    rest = run_pipekit(tmp_path, "Chars", *args, shims=shims)
    assert rest.returncode == 0, rest.stdout
    assert outputs(out) == expected(4)
    sbatch = shims.calls("sbatch")
    assert len(sbatch) == 2 and "--array=0-1" in sbatch[0] and "--array=0-1" in sbatch[1]
    assert sorted(b for j in ledger_jobs(out).values() for b in j["branches"]) == [0, 1, 2, 3]


def test_jobs_beyond_max_array_size_go_into_several_arrays(tmp_path, out, shims):
    (tmp_path / "law.cfg").write_text("[slurm]\nmax_array_size: 2\n")
    proc = run_pipekit(tmp_path, "Chars", "--out", str(out), "--n", "5", *FAST, shims=shims)
    assert proc.returncode == 0, proc.stdout
    assert outputs(out) == expected(5)
    arrays = [c.split("--array=")[1].split()[0] for c in shims.calls("sbatch")]
    assert arrays == ["0-1", "0-1", "0"]
    assert shims.calls("scontrol") == []  # the configured size is not asked from Slurm


def max_concurrent(out) -> int:
    """Most branch attempts that ran at the same moment (from out/.runs.jsonl)."""
    runs = [json.loads(line) for line in (out / ".runs.jsonl").read_text().splitlines()]
    return most_at_once((r["t0"], r["t1"]) for r in runs)


def test_parallel_jobs_bounds_the_running_jobs_over_all_arrays_and_retries(tmp_path, out, shims):
    # 7 jobs in arrays of at most 2 and one retry: law-style per-array throttles (%2 each) would
    # let 4 or more run at once; the workflow's limit is 2
    (tmp_path / "law.cfg").write_text("[slurm]\nmax_array_size: 2\n")
    proc = run_pipekit(tmp_path, "Chars", "--out", str(out), "--n", "7", "--sleep", "2",
                       "--fail-once", "3", "--retries", "1", "--parallel-jobs", "2", *FAST,
                       shims=shims)
    assert proc.returncode == 0, proc.stdout
    assert outputs(out) == expected(7)
    assert "wait for a free slot (--parallel-jobs 2" in proc.stdout
    assert max_concurrent(out) == 2  # never more, and the limit is used
    arrays = [c.split("--array=")[1].split()[0] for c in shims.calls("sbatch")]
    assert len(arrays) >= 5  # 4 arrays of new jobs and the retry, each throttled to free slots
    assert all("%" in a and int(a.split("%")[1]) <= 2 for a in arrays if "-" in a)
    assert sorted(b for j in ledger_jobs(out).values() for b in j["branches"]) == list(range(7))


def test_scontrol_answers_when_squeue_fails(tmp_path, out, shims):
    shims.fail("squeue", "slurm_load_jobs error: Socket timed out on send/recv operation")
    # the failing branch sleeps first: the loop ends as soon as it fails (tolerance 0), and by
    # then the other two jobs must have ended for their final states to be known
    proc = run_pipekit(tmp_path, "Chars", "--out", str(out), "--n", "3", "--always-fail", "2",
                       "--sleep", "3", "--slow", "2", "--retries", "0", *FAST, shims=shims)
    assert proc.returncode == 40, proc.stdout
    assert outputs(out) == expected(3, skip=(2,))
    jobs = ledger_jobs(out)
    assert [jobs[i]["state"] for i in range(3)] == ["finished", "finished", "failed"]
    array = jobs[0]["job_id"].split("_")[0]
    assert shims.calls("scontrol")[-1] == f"scontrol --oneliner show job {array}"
    assert len(shims.calls("sbatch")) == 1


def test_a_timed_out_squeue_counts_as_one_poll_failure_and_the_loop_carries_on(
        tmp_path, out, shims):
    (tmp_path / "law.cfg").write_text("[slurm]\ncommand_timeout: 2\n")
    shims.slow("squeue", 6, times=2)  # the first two status queries get no answer in time
    # the jobs outlive both failed queries (else the loop ends them from their exit-status
    # files before it queries a second time)
    proc = run_pipekit(tmp_path, "Chars", "--out", str(out), "--n", "3", "--poll-fails", "2",
                       "--sleep", "12", *FAST, shims=shims)
    assert proc.returncode == 0, proc.stdout
    assert "status query failed (1/2)" in proc.stdout and "status query failed (2/2)" in proc.stdout
    assert "timed out after 2 s" in proc.stdout
    assert "Traceback" not in proc.stdout
    assert outputs(out) == expected(3)
    assert len(shims.calls("sbatch")) == 1


def test_status_queries_timing_out_beyond_poll_fails_end_the_loop_with_the_reattach_hint(
        tmp_path, out, shims):
    (tmp_path / "law.cfg").write_text("[slurm]\ncommand_timeout: 1\n")
    shims.slow("squeue", 5)
    args = ("--out", str(out), "--n", "2", "--sleep", "10")  # running while the queries fail
    proc = run_pipekit(tmp_path, "Chars", *args, "--poll-fails", "1", *FAST, shims=shims)
    assert proc.returncode == 40, proc.stdout
    assert "status query failed (1/1)" in proc.stdout
    assert "failed 2 times in a row" in proc.stdout
    assert "jobs keep running: run the same command again to attach to them" in proc.stdout
    assert "Traceback" not in proc.stdout
    shims.write("squeue")
    rerun = run_pipekit(tmp_path, "Chars", *args, *FAST, shims=shims)
    assert rerun.returncode == 0, rerun.stdout
    assert outputs(out) == expected(2)
    assert len(shims.calls("sbatch")) == 1


def test_branches_done_by_a_job_that_is_resubmitted_for_a_sibling_still_count(tmp_path, out):
    proc = run_pipekit(tmp_path, "Chars", "--out", str(out), "--n", "10", "--tasks-per-job", "2",
                       "--fail-once", "3", "--retries", "1", *FAST)
    assert proc.returncode == 0, proc.stdout
    assert outputs(out) == expected(10)
    job = ledger_jobs(out)[1]
    assert job["attempt"] == 2 and job["branches"] == [3]  # the retry ran only the failed one
    assert "10 of 10 branches done" in proc.stdout


def test_percent_signs_in_the_output_and_working_directories_stay_literal(tmp_path, shims):
    # Slurm would read '%j' / '%a' / '%x' of these paths as filename patterns
    work = tmp_path / "work_%j"
    out = tmp_path / "run_%j_%a%%x" / "out"
    work.mkdir()
    proc = run_pipekit(work, "Chars", "--out", str(out), "--n", "2", "--fail-once", "1",
                       "--retries", "1", *FAST, shims=shims)
    assert proc.returncode == 0, proc.stdout
    assert outputs(out) == expected(2)
    jobs = ledger_jobs(out)
    for job in jobs.values():  # the logs are where the ledger says, at the literal paths
        assert "%j_%a%%x" in job["log"] and os.path.exists(job["log"]), job["log"]
    assert "fails on its first attempt" in open(jobs[1]["history"][0]["log"]).read()
    assert "--output=" in shims.calls("sbatch")[0] and "run_%%j_%%a%%%%x" in shims.calls("sbatch")[0]


def test_print_status_shows_the_final_state_of_jobs_that_ended_after_the_loop(tmp_path, out):
    # branch 2 fails at once and ends the loop (tolerance 0) while 0 and 1 still run
    args = ("--out", str(out), "--n", "3", "--always-fail", "2", "--sleep", "4", "--slow", "0,1",
            "--retries", "0", *FAST)
    run = run_pipekit(tmp_path, "Chars", *args)
    assert run.returncode == 40, run.stdout
    assert {ledger_jobs(out)[i]["state"] for i in (0, 1)} <= {"pending", "running"}
    ids = {j["job_id"] for j in ledger_jobs(out).values()}
    wait_for(lambda: not set(queue_ids()) & ids, 60, "the jobs to leave the queue")
    status = run_pipekit(tmp_path, "Chars", *args, "--print-status", "0")
    assert status.returncode == 0, status.stdout
    assert "slurm jobs: 2 finished, 1 failed" in status.stdout
    assert [j["state"] for j in ledger_jobs(out).values()] == ["finished", "finished", "failed"]


def test_a_rerun_of_a_complete_workflow_settles_jobs_left_submitting(tmp_path, out, shims):
    shims.write("sbatch", after="kill -9 $PPID")  # killed before the job ids were recorded
    args = ("--out", str(out), "--n", "3", *FAST)
    crashed = run_pipekit(tmp_path, "Chars", *args, shims=shims)
    assert crashed.returncode == -signal.SIGKILL
    assert {j["state"] for j in ledger_jobs(out).values()} == {"submitting"}
    def ended():
        files = [j["status_file"] for j in ledger_jobs(out).values()]
        return all(os.path.exists(f) and json.loads(open(f).read()).get("exit_code") is not None
                   for f in files)

    wait_for(ended, 60, "the jobs to end")
    shims.write("sbatch")
    rerun = run_pipekit(tmp_path, "Chars", *args, shims=shims)
    assert rerun.returncode == 0, rerun.stdout
    assert {j["state"] for j in ledger_jobs(out).values()} == {"finished"}
    ledger = json.loads(find_ledger(out).read_text())
    assert {s["state"] for s in ledger["submissions"].values()} == {"submitted"}
    status = run_pipekit(tmp_path, "Chars", *args, "--print-status", "0", shims=shims)
    assert "slurm jobs: 3 finished" in status.stdout
    assert len(shims.calls("sbatch")) == 1
