"""
On the real single-node Slurm of ``tests/infra/slurm.sh``: what a Slurm workflow's report and
trace show (every attempt with its batch id, host, queue wait and cost), ``pipekit status`` of
it, and the job loop noticing succeeded jobs from their exit-status files between two
``squeue`` calls — but not jobs whose stage-out file has yet to run.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from slurm_helpers import FAST, find_ledger, ledger_jobs, pipekit_env, run_pipekit

pytestmark = [pytest.mark.slurm, pytest.mark.timeout(180), pytest.mark.usefixtures("slurm_cluster")]


def pipekit_cli(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(Path(sys.executable).parent / "pipekit"), *args], cwd=cwd,
                          env=pipekit_env(), capture_output=True, text=True, timeout=60)


def test_the_report_of_a_slurm_workflow_shows_each_attempt_where_and_how_long_it_ran(
        tmp_path, out, shims):
    params = ("--out", str(out), "--n", "4", "--fail-once", "2", "--sleep", "0.2")
    proc = run_pipekit(tmp_path, "Chars", *params, "--tasks-per-job", "2", *FAST, shims=shims)
    assert proc.returncode == 0, proc.stdout
    rep = pipekit_cli(tmp_path, "report", "slurm_tasks.Chars", *params, "-o", "r.html",
                      "--trace", "t.tsv")
    assert rep.returncode == 0, rep.stderr
    assert "3 job attempt(s), 4/4 branches done" in rep.stdout
    lines = (tmp_path / "t.tsv").read_text().splitlines()
    rows = [dict(zip(lines[0].split("\t"), ln.split("\t"))) for ln in lines[1:]]
    assert [(r["job"], r["attempt"], r["branch"], r["state"]) for r in rows] == [
        ("0", "1", "0", "finished"), ("0", "1", "1", "finished"),
        ("1", "1", "2", "failed"), ("1", "1", "3", "finished"), ("1", "2", "2", "finished")]
    jobs = ledger_jobs(out)
    ids = [h["job_id"] for h in jobs[1]["history"]] + [jobs[1]["job_id"]]
    assert [r["batch_id"] for r in rows[2:]] == [ids[0], ids[0], ids[1]]
    for r in rows:
        assert r["type"] == "slurm" and r["host"]
        assert 0 <= float(r["queue_s"]) < 60 and float(r["wall_s"]) >= 0.19
        assert float(r["job_wall_s"]) >= float(r["wall_s"]) and float(r["maxrss_mb"]) > 5
    assert rows[2]["reason"] == "exit_code" and "fails on its first attempt" in rows[2]["error"]
    assert jobs[0]["usage"]["cpu_s"] > 0 and jobs[0]["usage"]["host"] == rows[0]["host"]
    html = (tmp_path / "r.html").read_text()
    assert html.count('class="attempt"') == 3 and "Chars [slurm]" in html
    assert "RuntimeError: branch 2 fails on its first attempt" in html  # the log tail, too

    status = pipekit_cli(tmp_path, "status", "slurm_tasks.Chars", *params, "--once")
    assert status.returncode == 0, status.stderr
    (row,) = [ln for ln in status.stdout.splitlines() if ln.startswith("Chars")]
    assert "3 finished" not in row and "2 finished" in row and "4/4" in row and row.endswith("done")


def test_succeeded_jobs_are_noticed_between_two_squeue_calls(tmp_path, out, shims):
    t0 = time.time()
    proc = run_pipekit(tmp_path, "Chars", "--out", str(out), "--n", "3", "--poll-interval", "30s",
                       shims=shims)
    took = time.time() - t0
    assert proc.returncode == 0, proc.stdout
    assert took < 20, f"{took:.1f} s: the run waited for the next status query"
    assert len(shims.calls("squeue")) == 1  # the first cycle's; none was needed after it
    polling = json.loads(find_ledger(out).read_text())["workflow"]["polling"]
    assert polling["early_ends"] == 3 and polling["queries"] == 1
    assert {j["state"] for j in ledger_jobs(out).values()} == {"finished"}


def test_jobs_with_a_stageout_file_are_ended_by_slurm_only_after_it_ran(tmp_path, out, shims):
    staged = tmp_path / "staged"
    staged.mkdir()
    script = tmp_path / "stageout.sh"
    script.write_text(f'sleep 1; cp "{out}"/char_*.json "{staged}"/\n')
    proc = run_pipekit(tmp_path, "CharsStagedOut", "--out", str(out), "--n", "2",
                       "--stageout", str(script), *FAST, shims=shims)
    assert proc.returncode == 0, proc.stdout
    assert sorted(p.name for p in staged.glob("char_*.json")) == ["char_0.json", "char_1.json"]
    polling = json.loads(find_ledger(out).read_text())["workflow"]["polling"]
    assert polling.get("early_ends", 0) == 0
