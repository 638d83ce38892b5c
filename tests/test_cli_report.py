"""
``pipekit report``: the HTML report and the trace of real runs — local workflows here, an
HTCondor workflow through the stand-in pool (tests/htcondor_standin_pool.py), Slurm in
tests/integration/test_slurm_report.py — and one clear line for bad input.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import htcondor_standin_pool as standin
import pytest
from report_helpers import analysis, local_ledgers, run_cli

from pipekit.report.trace import TRACE_COLUMNS


def _trace(path: Path) -> list[dict[str, str]]:
    lines = path.read_text().splitlines()
    head = lines[0].split("\t")
    assert head == [name for name, _ in TRACE_COLUMNS]
    return [dict(zip(head, ln.split("\t"))) for ln in lines[1:]]


def test_a_report_of_a_dependency_tree_covers_its_workflows(tmp_path):
    work = analysis(tmp_path)
    assert run_cli(["run", "report_tasks.Total", "--workers", "2"], work).returncode == 0
    proc = run_cli(["report", "report_tasks.Total", "-o", "out/r.html", "--trace", "t.tsv"], work)
    assert proc.returncode == 0, proc.stderr
    html = work / "out" / "r.html"
    assert proc.stdout.splitlines() == [
        f"report of Total(n=6): 1 workflow(s), 6 job attempt(s), 6/6 branches done: {html}",
        f"trace: 6 row(s), one per branch attempt: {work / 't.tsv'}"]
    assert "Squares [local]" in html.read_text()
    rows = _trace(work / "t.tsv")
    assert sorted(int(r["branch"]) for r in rows) == list(range(6))
    assert {r["type"] for r in rows} == {"local"} and all(r["host"] and r["wall_s"] for r in rows)


def test_a_report_from_ledger_files_needs_no_analysis_code(tmp_path):
    work = analysis(tmp_path)
    run_cli(["run", "report_tasks.Squares", "--fail", "3"], work)
    (ledger,) = local_ledgers(work)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    proc = run_cli(["report", "--ledger", str(ledger), "--trace", "t.tsv"], elsewhere)
    assert proc.returncode == 0, proc.stderr
    assert (elsewhere / "report.html").exists()
    failed = [r for r in _trace(elsewhere / "t.tsv") if r["state"] == "failed"]
    assert [(r["branch"], r["reason"]) for r in failed] == [("3", "exit_code")]
    assert failed[0]["error"] == "ValueError: branch 3 <b>bad</b> input"


@pytest.mark.parametrize("args, code, message", [
    (["report_tasks.Squares"], 1, "no workflow in the tree of Squares(branch=-1, n=6) has run yet"),
    (["report_tasks.Plain"], 2, "is not a workflow and requires none"),
    (["--ledger", "nope.json"], 2, "cannot read the ledger nope.json"),
    (["--trace", "t.tsv"], 2, "needs a TASK or --ledger LEDGER"),
    (["report_tasks.Squares", "--depth", "deep"], 2, "--depth must be an integer"),
    (["report_tasks.Squares", "--print-status", "0"], 2, "only reads; use 'pipekit run'"),
])
def test_bad_input_is_one_line_and_an_exit_code(tmp_path, args, code, message):
    work = analysis(tmp_path)
    with open(work / "report_tasks.py", "a") as f:
        f.write("\n\nclass Plain(law.Task):\n    pass\n")
    proc = run_cli(["report", *args], work)
    assert proc.returncode == code, proc.stdout + proc.stderr
    assert len(proc.stderr.splitlines()) == 1 and message in proc.stderr, proc.stderr
    assert not (work / "Squares-report.html").exists()


STANDIN_TASKS = '''
import os
import luigi
import pipekit as law
law.contrib.load("htcondor")


class Letters(law.htcondor.HTCondorWorkflow, law.LocalWorkflow):
    out = luigi.Parameter()

    def create_branch_map(self):
        return {i: chr(97 + i) for i in range(6)}

    def output(self):
        return law.LocalFileTarget(os.path.join(self.out, f"l_{self.branch}.json"))

    def htcondor_job_config(self, config, job_num, branches):
        config.memory = "1 GB"
        config.max_runtime = "30min"
        return config

    def run(self):
        self.output().dump({"letter": self.branch_data})
'''


@pytest.mark.htcondor
@pytest.mark.timeout(180)
def test_an_htcondor_workflow_on_the_standin_pool_is_reported(tmp_path, htcondor_bindings):
    # the stand-in pool (see tests/htcondor_standin_pool.py) holds job 2 on its first start
    bin_dir, state = tmp_path / "standin" / "bin", tmp_path / "standin" / "state"
    standin.install(bin_dir, state)
    (state / "hold.json").write_text(json.dumps({"job_num": 2, "code": 34,
                                                 "reason": "memory usage exceeded request_memory"}))
    (tmp_path / "standin_tasks.py").write_text(textwrap.dedent(STANDIN_TASKS))
    out = tmp_path / "out"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LAW_", "PIPEKIT_"))}
    env.update(PATH=f"{bin_dir}:{os.path.dirname(sys.executable)}:{env.get('PATH', '')}",
               PYTHONPATH=str(tmp_path), LAW_HOME=str(tmp_path / "lawhome"))
    pipekit = os.path.join(os.path.dirname(sys.executable), "pipekit")
    try:
        run = subprocess.run([pipekit, "run", "standin_tasks.Letters", "--out", str(out),
                              "--poll-interval", "0.2s", "--retries", "1"], cwd=tmp_path, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120)
        assert run.returncode == 0, run.stdout
        rep = subprocess.run([pipekit, "report", "standin_tasks.Letters", "--out", str(out), "-o",
                              "r.html", "--trace", "t.tsv"], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=60)
    finally:
        standin.kill_all(state)
    assert rep.returncode == 0, rep.stderr
    assert "7 job attempt(s), 6/6 branches done" in rep.stdout
    rows = _trace(tmp_path / "t.tsv")
    held = [r for r in rows if r["state"] == "failed"]
    assert [(r["job"], r["attempt"], r["branch"]) for r in held] == [("2", "1", "2")]
    assert "memory usage exceeded request_memory" in held[0]["error"]
    done = [r for r in rows if r["state"] == "finished"]
    assert len(done) == 6 and all(r["batch_id"].count(".") == 1 for r in done)
    assert all(float(r["queue_s"]) >= 0 and r["host"] and r["req_walltime_s"] == "1800"
               for r in done)
    # the held attempt ran out of memory: its retry asked for 1.5 x (the default policy)
    assert {(r["job"], r["req_memory_mb"]) for r in done} == {
        ("0", "1024"), ("1", "1024"), ("2", "1536"), ("3", "1024"), ("4", "1024"), ("5", "1024")}
    assert held[0]["req_memory_mb"] == "1024"
    html = (tmp_path / "r.html").read_text()
    assert "Letters [htcondor]" in html and html.count('class="attempt"') == 7
    # the largest request (the retry's) is shown, and the held job is named as hitting it
    assert "Requested and used resources" in html and "1.50 GB" in html
    assert "1 job(s) hit the limit: request more" in html


def test_with_provenance_on_the_report_shows_what_made_each_output(tmp_path):
    pytest.importorskip("pipekit.provenance", reason="this pipekit has no provenance records (issue 16)")
    work = analysis(tmp_path)
    cfg = (work / "law.cfg").read_text()
    (work / "law.cfg").write_text("[core]\nprovenance: True\n\n" + cfg)
    assert run_cli(["run", "report_tasks.Squares"], work).returncode == 0
    proc = run_cli(["report", "report_tasks.Squares", "-o", "r.html"], work)
    assert proc.returncode == 0, proc.stderr
    section = (work / "r.html").read_text().split('id="provenance"', 1)[1]
    assert "6 of 6 outputs looked at (of 6) have a record" in section
    assert "status: current" in section and "task: Squares branch 0" in section
