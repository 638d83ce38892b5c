"""
``pipekit status``: the table of the analysis's workflows, printed once when not on a terminal
and refreshed in place on one (here a real pseudo-terminal) until no workflow runs.
"""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import time

import pytest
from cli_helpers import cli_env, script
from report_helpers import analysis, run_cli


def test_the_table_lists_every_workflow_of_the_analysis_once(tmp_path):
    work = analysis(tmp_path)
    run_cli(["run", "report_tasks.Squares", "--fail", "1"], work)
    (work / "data" / "fixed").write_text("")
    run_cli(["run", "report_tasks.Squares", "--n", "8"], work)  # 6 of 8 were there already
    proc = run_cli(["status"], work)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split() == ["workflow", "type", "jobs", "branches", "done", "progress",
                                "CPU", "h", "elapsed", "state"]
    rows = sorted(ln for ln in lines[2:-1])
    assert len(rows) == 2
    assert "5 finished, 1 failed" in rows[1] and "5/6 (1 failed)" in rows[1] and rows[1].endswith("failed")
    assert "3 finished" in rows[0] and "8/8" in rows[0] and "100%" in rows[0] and rows[0].endswith("done")
    assert lines[-1].startswith("2 workflow(s), 0 running")
    # for one task's tree only
    only = run_cli(["status", "report_tasks.Squares", "--n", "8"], work)
    assert len(only.stdout.splitlines()) == 4 and "8/8" in only.stdout


def test_without_workflows_it_says_where_it_looked(tmp_path):
    work = analysis(tmp_path)
    proc = run_cli(["status"], work)
    assert proc.returncode == 1
    assert proc.stderr.startswith("pipekit: error: no workflow ledgers found in the analysis "
                                  f"registry {work / '.law' / 'workflows.jsonl'}")
    assert run_cli(["status", "--scan", "nowhere"], work).returncode == 2
    assert run_cli(["status", "--interval", "soon"], work).returncode == 2


@pytest.mark.parametrize("plain", [True, False], ids=["plain", "rich-if-installed"])
def test_on_a_terminal_the_table_follows_a_running_workflow_until_it_ends(tmp_path, plain):
    work = analysis(tmp_path)
    run_cli(["run", "report_tasks.Squares", "--n", "2"], work)  # an ended one, shown as done
    wf = subprocess.Popen([script(), "run", "report_tasks.Squares", "--n", "8", "--sleep", "0.5"],
                          cwd=work, env=cli_env(work), stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)
    ledger_dir = work / ".law" / "workflows"
    deadline = time.time() + 30
    while len(list(ledger_dir.glob("pipekit_local_*"))) < 2 and time.time() < deadline:
        time.sleep(0.05)
    main, sub = pty.openpty()
    env = cli_env(work, {"TERM": "xterm", "COLUMNS": "200"})
    args = ["--plain"] if plain else []
    status = subprocess.Popen([script(), "status", "--interval", "0.3", *args], cwd=work, env=env,
                              stdin=sub, stdout=sub, stderr=sub)
    os.close(sub)
    out = b""
    try:
        while status.poll() is None and time.time() < deadline + 30:
            if select.select([main], [], [], 0.2)[0]:
                try:
                    out += os.read(main, 65536)
                except OSError:
                    break
        assert status.wait(timeout=10) == 0
    finally:
        for p in (status, wf):
            if p.poll() is None:
                p.kill()
        wf.wait()
        os.close(main)
    text = out.decode(errors="replace")
    # redrawn in place: the cursor goes back up over the previous table (plain: ESC[nF, rich: ESC[1A)
    assert re.search(r"\x1b\[\d*[AF]", text), text[-2000:]
    frames = [f for f in re.split(r"\x1b\[\d*[AFJK]", text) if "Squares" in f]
    first, last = frames[0], frames[-1]
    assert "running" in first and "pending" in first
    rows = [re.sub(r"\x1b\[[0-9;]*m", "", ln) for ln in last.splitlines() if "Squares" in ln]
    assert len(rows) == 2 and "6 finished" in last and "8/8" in last  # 2 were there before
    assert all(ln.rstrip(" │").endswith("done") for ln in rows), rows
    assert wf.wait() == 0
