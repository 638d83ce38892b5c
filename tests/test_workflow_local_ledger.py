"""
The local ledger: every branch attempt of a LocalWorkflow with its state, error and cost, in
the analysis's .law directory (never next to the outputs), through real ``pipekit run``s.
"""

from __future__ import annotations

import json
import subprocess

from cli_helpers import cli_env, script
from report_helpers import analysis, ledger_jobs, local_ledgers, run_cli


def test_a_local_run_records_every_branch_with_its_cost_and_keeps_outputs_dirs_clean(tmp_path):
    work = analysis(tmp_path)
    proc = run_cli(["run", "report_tasks.Squares", "--fail", "2", "--workers", "2", "--mb", "60"], work)
    assert proc.returncode == 40, proc.stdout + proc.stderr  # a failed task (luigi's retcode)
    assert sorted(p.name for p in (work / "data" / "sq").iterdir()) == [
        f"{i}.json" for i in (0, 1, 3, 4, 5)]  # outputs only: the ledger lives in .law
    (path,) = local_ledgers(work)
    jobs = ledger_jobs(path)
    assert sorted(jobs) == list(range(6))
    ok, bad = jobs[1], jobs[2]
    assert (ok["state"], ok["exit_code"], ok["attempt"], ok["branches"]) == ("finished", 0, 1, [1])
    usage = ok["usage"]
    assert usage["end"] >= usage["start"] and usage["cpu_s"] >= 0 and usage["host"]
    assert usage["maxrss_mb"] >= 60, "branch 1 touched 60 MB"
    assert (bad["state"], bad["exit_code"], bad["reason"]) == ("failed", 1, "exit_code")
    message, traceback = bad["error"].split("\n", 1)
    assert message == "ValueError: branch 2 <b>bad</b> input"
    assert "report_tasks.py" in traceback and "raise ValueError" in traceback
    info = json.loads(path.read_text())["workflow"]
    assert (info["family"], info["type"], info["branches"], info["workers"]) == ("Squares", "local", 6, 2)
    # the analysis registry lists it for pipekit status
    lines = (work / ".law" / "workflows.jsonl").read_text().splitlines()
    assert [json.loads(ln)["ledger"] for ln in lines] == [str(path)]


def test_a_rerun_is_a_second_attempt_of_only_the_branches_it_runs(tmp_path):
    work = analysis(tmp_path)
    run_cli(["run", "report_tasks.Squares", "--fail", "2,4"], work)
    (work / "data" / "fixed").write_text("")
    proc = run_cli(["run", "report_tasks.Squares", "--fail", "2,4"], work)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (path,) = local_ledgers(work)
    jobs = ledger_jobs(path)
    assert [jobs[b]["attempt"] for b in range(6)] == [1, 1, 2, 1, 2, 1]
    assert jobs[2]["state"] == "finished"
    assert [h["state"] for h in jobs[2]["history"]] == ["failed"]
    assert jobs[2]["history"][0]["usage"]["cpu_s"] >= 0


def test_concurrent_runs_of_branch_selections_share_the_ledger(tmp_path):
    work = analysis(tmp_path)
    cmd = [script(), "run", "report_tasks.Squares", "--n", "8", "--sleep", "0.3"]
    procs = [subprocess.Popen(cmd + ["--branches", sel], cwd=work, env=cli_env(work),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for sel in ("0-3", "4-7")]
    for p in procs:
        assert p.wait(timeout=120) == 0, p.stdout.read()
    (path,) = local_ledgers(work)
    jobs = ledger_jobs(path)
    assert sorted(jobs) == list(range(8))
    assert all(j["state"] == "finished" for j in jobs.values())
    assert len({j["tag"] for j in jobs.values()}) == 2  # two runs, neither lost the other's


def test_the_local_ledger_can_be_switched_off_in_law_cfg(tmp_path):
    work = analysis(tmp_path)
    with open(work / "law.cfg", "a") as f:
        f.write("\n[job]\nlocal_ledger: False\n")
    assert run_cli(["run", "report_tasks.Squares"], work).returncode == 0
    assert local_ledgers(work) == []
