"""
ARCWorkflow against the real ARC CE of ``tests/infra/arc.sh`` (A-REX 6.17, fork LRMS, REST
interface, X.509 proxies of the test CA). Each test runs ``pipekit run ... --workflow arc`` as a
user does and checks what a user sees: outputs, exit codes, messages, the ledger, and — through
PATH shims that log and exec the real commands — how often arcsub / arcstat / arcget ran.
"""

from __future__ import annotations

import json
import os
import signal
import time
import uuid
from pathlib import Path

import grid_helpers
import pytest
from arc_helpers import FAST, arcstat_states
from slurm_helpers import wait_for

pytestmark = [pytest.mark.arc, pytest.mark.timeout(600)]

XRD_GSI_DATA = Path("/tmp/infra/xrootd-gsi/data")


def expected(n: int, skip: tuple[int, ...] = ()) -> list[str]:
    return sorted(f"char_{i}.json" for i in range(n) if i not in skip)


def test_twenty_branch_workflow_finishes_with_one_arcsub_and_one_arcstat_per_cycle(arc):
    t0 = time.time()
    proc = arc.run("Chars", "--out", str(arc.out), "--n", "20", *FAST)
    wall = time.time() - t0
    assert proc.returncode == 0, proc.stdout
    assert arc.outputs() == expected(20), proc.stdout
    assert "20 of 20 branches done" in proc.stdout
    arcsub = arc.shims.calls("arcsub")
    assert len(arcsub) == 1 and arcsub[0].count(".xrsl") == 20
    jobs = arc.ledger()
    assert len(jobs) == 20 and {j["state"] for j in jobs.values()} == {"finished"}
    assert {j["exit_code"] for j in jobs.values()} == {0}
    # one arcstat per 1 s cycle for all jobs (ids from a file), one arcget per cycle at most
    arcstat = arc.shims.calls("arcstat")
    assert 1 <= len(arcstat) <= wall / 1.0 + 2
    assert all(" -i " in c and c.endswith("-J -u") for c in arcstat)
    assert 1 <= len(arc.shims.calls("arcget")) <= len(arcstat)
    # the jobs ran on the CE as nobody, each with the proxy arcsub delegated to it
    data = json.loads((arc.out / "char_7.json").read_text())
    assert data["uid"] != 0 and data["proxy"].startswith("/tmp/infra/arc/control/job.")
    # exit-status files and logs came back with arcget into the submission directory
    job = jobs[7]
    assert json.loads(open(job["status_file"]).read())["exit_code"] == 0
    assert "all 1 branches finished" in open(job["log"]).read()
    print(f"\nFIGURES 20-branch ARC workflow: wall {wall:.1f} s, arcsub {len(arcsub)}, "
          f"arcstat {len(arcstat)} (1 per cycle), arcget {len(arc.shims.calls('arcget'))}")


def test_failing_branch_is_resubmitted_and_its_exit_code_and_reason_reach_the_ledger(arc):
    # branch 3 is slow: the workflow ends failed (tolerance 0) only after branch 1's retry was
    # reported finished, not while ARC still shows it running (its states lag by up to 5 s)
    proc = arc.run("Chars", "--out", str(arc.out), "--n", "4", "--fail-once", "1",
                   "--always-fail", "3", "--retries", "1", "--sleep", "15", "--slow", "3", *FAST)
    assert proc.returncode == 40, proc.stdout
    assert arc.outputs() == expected(4, skip=(3,)), proc.stdout
    assert "branch 3 always fails" in proc.stdout and "failed after 2 attempt(s)" in proc.stdout
    jobs = arc.ledger()
    assert jobs[1]["state"] == "finished" and jobs[1]["attempt"] == 2, proc.stdout
    assert jobs[1]["history"][0]["exit_code"] == 1
    assert jobs[3]["state"] == "failed" and jobs[3]["attempt"] == 2
    assert jobs[3]["exit_code"] == 1 and jobs[3]["reason"] == "exit_code"
    assert "always fails" in open(jobs[3]["log"]).read()
    # the first submission, then resubmissions of the failed jobs only
    arcsub = arc.shims.calls("arcsub")
    assert 2 <= len(arcsub) <= 3 and arcsub[0].count(".xrsl") == 4
    assert all(c.count(".xrsl") <= 2 for c in arcsub[1:])


def wait_running(arc, n: int, timeout: float = 120) -> dict[int, dict]:
    """Until *n* branches run on the CE (their pid files exist): the ledger's jobs."""
    wait_for(lambda: len(list(arc.out.glob(".pid_*"))) >= n, timeout, f"{n} branches to start")
    return arc.ledger()


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:
        return f.read().split(")")[-1].split()[0] != "Z"


def test_cancel_jobs_kills_the_running_jobs_on_the_ce(arc):
    args = ("--out", str(arc.out), "--n", "2", "--sleep", "300", *FAST)
    submitted = arc.run("Chars", *args, "--no-poll")
    assert submitted.returncode == 0, submitted.stdout
    jobs = wait_running(arc, 2)
    pids = [int((arc.out / f".pid_{b}").read_text()) for b in range(2)]
    assert all(alive(p) for p in pids)
    cancelled = arc.run("Chars", *args, "--cancel-jobs")
    assert cancelled.returncode == 0, cancelled.stdout
    assert "cancelled 2 job(s) (ARC ids https://localhost:8443/arex/" in cancelled.stdout
    assert len(arc.shims.calls("arckill")) == 1
    wait_for(lambda: not any(alive(p) for p in pids), 60, "the cancelled jobs' processes to end")
    ids = [j["job_id"] for j in jobs.values()]
    wait_for(lambda: set(arcstat_states(arc.job_list(), ids).values()) == {"Killed"}, 90,
             "ARC to report the jobs as Killed")
    after = arc.ledger()
    assert {j["state"] for j in after.values()} == {"failed"}
    assert {j["reason"] for j in after.values()} == {"cancelled"}
    assert arc.outputs() == []
    # --cleanup-jobs: arcclean what the CE keeps of them, then the job files and the ledger
    cleaned = arc.run("Chars", *args, "--cleanup-jobs")
    assert cleaned.returncode == 0, cleaned.stdout
    assert len(arc.shims.calls("arcclean")) == 1 and arc.ledger() == {}
    assert arcstat_states(arc.job_list(), ids) == {} if list(arc.out.glob("pipekit_arc_*/arc_jobs.dat")) else True


def test_expired_proxy_stops_the_submission_with_one_clear_line(arc):
    proc = arc.run("Chars", "--out", str(arc.out), "--n", "2", *FAST, proxy="x509up_expired")
    assert proc.returncode == 40, proc.stdout
    expired = grid_helpers.proxy("x509up_expired")
    line = next(x for x in proc.stdout.splitlines() if "x509up_expired" in x)
    assert line.split(": ", 1)[1] == (
        f"the X.509 proxy {expired} (from $X509_USER_PROXY) expired "
        + line.split(" expired ", 1)[1].split(" ago ")[0] + " ago (2020-01-01 01:00 UTC); the jobs "
        "need 10 min (margin 10 min of [job] credential_margin; no job walltime is set); renew it "
        "with: arcproxy --constraint validityPeriod=24H")
    assert "still active" not in proc.stdout
    assert arc.shims.calls("arcsub") == [] and arc.ledger() == {}


def test_missing_proxy_and_one_shorter_than_the_walltime_stop_the_submission(arc, tmp_path):
    missing = grid_helpers.proxy("missing")
    proc = arc.run("Chars", "--out", str(arc.out), "--n", "2", *FAST, proxy="missing")
    assert proc.returncode == 40
    assert (f"no X.509 proxy: {missing} does not exist (from $X509_USER_PROXY); create one "
            "with: arcproxy --constraint validityPeriod=24H") in proc.stdout
    (arc.dir / "law.cfg").write_text((arc.dir / "law.cfg").read_text() + "walltime = 13h\n")
    proc = arc.run("Chars", "--out", str(arc.out), "--n", "2", *FAST)
    assert proc.returncode == 40
    assert "left, but the jobs need 13 h 10 min (walltime 13 h + margin 10 min" in proc.stdout
    assert "renew it with: arcproxy --constraint validityPeriod=24H" in proc.stdout
    assert arc.shims.calls("arcsub") == []


def test_killed_submitter_rerun_reattaches_without_duplicate_jobs(arc):
    args = ("--out", str(arc.out), "--n", "4", "--sleep-first", "8", *FAST)
    proc = arc.start("Chars", *args)
    try:
        wait_running(arc, 4)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        proc.kill()
    assert arc.outputs() != expected(4)
    rerun = arc.run("Chars", *args)
    assert rerun.returncode == 0, rerun.stdout
    assert "re-attached to 4 active jobs" in rerun.stdout
    assert arc.outputs() == expected(4), rerun.stdout
    assert len(arc.shims.calls("arcsub")) == 1
    assert {j["attempt"] for j in arc.ledger().values()} == {1}


def test_submitter_killed_between_arcsub_and_the_ledger_write_is_recovered_by_job_name(arc):
    arc.shims.write("arcsub", after="kill -9 $PPID")
    args = ("--out", str(arc.out), "--n", "3", *FAST)
    crashed = arc.run("Chars", *args)
    assert crashed.returncode == -signal.SIGKILL
    assert {j["state"] for j in arc.ledger().values()} == {"submitting"}
    arc.shims.write("arcsub")
    rerun = arc.run("Chars", *args)
    assert rerun.returncode == 0, rerun.stdout
    assert "found the 3 jobs of submission" in rerun.stdout
    assert len(arc.shims.calls("arcsub")) == 1
    assert arc.outputs() == expected(3)
    assert {j["attempt"] for j in arc.ledger().values()} == {1}


def test_jobs_are_dealt_to_several_computing_elements_in_turn(arc):
    ces = f"{grid_helpers.ARC_CE},https://127.0.0.1:8443/arex"
    proc = arc.run("Chars", "--out", str(arc.out), "--n", "4", "--arc-ce", ces, *FAST)
    assert proc.returncode == 0, proc.stdout
    arcsub = arc.shims.calls("arcsub")
    assert len(arcsub) == 2 and all(c.count(".xrsl") == 2 for c in arcsub)
    assert {c.split(" -C ")[1].split()[0] for c in arcsub} == set(ces.split(","))
    assert arc.outputs() == expected(4)


def test_dry_run_prints_the_xrsl_the_arcsub_command_and_the_credential(arc):
    proc = arc.run("Chars", "--out", str(arc.out), "--n", "3", "--dry-run")
    assert proc.returncode == 0, proc.stdout
    out = proc.stdout
    assert "----- xRSL job description of job index 2:" in out
    assert '(jobName="pk_Chars_' in out and '(outputFiles=("status_0.json" ""))' in out
    assert "----- submit command -----\narcsub -j " in out and " -T arcrest " in out
    assert (f"credentials (required: x509): X.509 proxy {grid_helpers.proxy('x509up_12h')} (from "
            "$X509_USER_PROXY): /DC=org/DC=pipekit-test/CN=Test User, ") in out
    assert arc.shims.calls("arcsub") == [] and not list(arc.out.glob("pipekit_arc_*"))


def test_print_status_names_the_credential_and_the_jobs(arc):
    proc = arc.run("Chars", "--out", str(arc.out), "--n", "2", "--print-status", "0")
    assert proc.returncode == 0, proc.stdout
    assert "arc jobs: none submitted yet" in proc.stdout
    assert "credentials (required: x509): X.509 proxy" in proc.stdout
    proc = arc.run("Chars", "--out", str(arc.out), "--n", "2", "--print-status", "0",
                   proxy="x509up_expired")
    assert "credentials: the submission would stop: the X.509 proxy" in proc.stdout


def test_jobs_write_to_gsi_xrootd_with_the_proxy_arc_delegated_to_them(arc, grid_services):
    grid_services("voms", "xrootd_gsi")
    sub = f"arc-{uuid.uuid4().hex[:8]}"
    jobs_dir = arc.dir / "jobs"
    jobs_dir.mkdir()
    args = ("--jobs-dir", str(jobs_dir), "--sub", sub, "--n", "3", *FAST)
    proc = arc.run("GridChars", *args, proxy="x509up_voms")
    assert proc.returncode == 0, proc.stdout
    data = XRD_GSI_DATA / "pipekit" / sub
    assert sorted(p.name for p in data.iterdir()) == expected(3)
    written = json.loads((data / "char_1.json").read_text())
    # the VOMS-only area accepted the jobs' delegated proxy: it carries the VO of ours
    assert written["vo"] == "pipekit" and written["uid"] != 0
    assert written["proxy"].startswith("/tmp/infra/arc/control/job.")
    # the workflow is complete for the submitter as well (listing with its own proxy)
    again = arc.run("GridChars", *args, proxy="x509up_voms")
    assert again.returncode == 0 and len(arc.shims.calls("arcsub")) == 1


def test_a_ce_that_does_not_answer_is_a_failed_poll_never_lost_jobs(arc):
    args = ("--out", str(arc.out), "--n", "2", "--sleep", "15", *FAST)
    assert arc.run("Chars", *args, "--no-poll").returncode == 0
    wait_running(arc, 2)
    assert grid_helpers.infra("arc", "stop").returncode == 0
    try:
        down = arc.run("Chars", *args, "--poll-fails", "2")
    finally:
        assert grid_helpers.infra("arc", "start").returncode == 0
    assert down.returncode == 40, down.stdout
    assert "ARC status query failed 3 times in a row" in down.stdout
    assert "is the CE reachable?" in down.stdout and "jobs keep running" in down.stdout
    assert {j["state"] for j in arc.ledger().values()} <= {"pending", "running", "unknown"}
    rerun = arc.run("Chars", *args)
    assert rerun.returncode == 0, rerun.stdout
    assert arc.outputs() == expected(2) and len(arc.shims.calls("arcsub")) == 1
