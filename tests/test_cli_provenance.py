"""
``pipekit provenance PATH`` and ``--print-output D,provenance``: one output's record as a user
reads it (task, parameters, code, inputs, git, software, times) with its current status, as
JSON, and the one-line errors for paths without a record.
"""

from __future__ import annotations

import json
import subprocess

import pytest
from cli_helpers import run_cli, write

TASKS = '''
import luigi

import pipekit as law


class Events(law.LocalWorkflow):
    def create_branch_map(self):
        return {0: "a", 1: "b"}

    def output(self):
        return law.LocalFileTarget(f"data/events/ev_{self.branch}.txt")

    def run(self):
        self.output().dump(self.branch_data * 3, formatter="text")


class Hist(law.Task):
    window = luigi.Parameter(default="60,120")

    def requires(self):
        return Events.req(self)

    def output(self):
        return law.LocalFileTarget("data/hist.txt")

    def run(self):
        text = "".join(t.load(formatter="text") for t in self.input()["collection"].iter_targets())
        self.output().dump(f"{self.window}: {text}", formatter="text")
'''


@pytest.fixture
def done(tmp_path):
    work = tmp_path / "work"
    write(work / "ana.py", TASKS)
    write(work / "law.cfg", "[core]\nprovenance: True\n[luigi_core]\nlocal_scheduler: True\n")
    subprocess.run(["git", "init", "-q", str(work)], check=True)
    subprocess.run(["git", "-C", str(work), "add", "ana.py"], check=True)
    subprocess.run(["git", "-C", str(work), "-c", "user.name=t", "-c", "user.email=t@t",
                    "commit", "-qm", "analysis"], check=True)
    res = run_cli(["run", "ana.Hist"], work)
    assert res.returncode == 0, res.stdout + res.stderr
    return work


def fields(out: str) -> dict[str, str]:
    rows = {}
    for line in out.splitlines():
        if line and not line.startswith(" "):
            key, _, value = line.partition(" ")
            rows[key] = value.strip()
    return rows


def commit_of(work) -> str:
    return subprocess.run(["git", "-C", str(work), "rev-parse", "HEAD"], capture_output=True,
                          text=True, check=True).stdout.strip()


def test_provenance_prints_what_made_an_output(done):
    res = run_cli(["provenance", "data/hist.txt"], done)
    assert res.returncode == 0, res.stderr
    rows = fields(res.stdout)
    assert rows["output"] == str(done / "data" / "hist.txt")
    assert rows["status"] == "current"
    assert rows["task"] == "Hist(window=60,120)  [ana.Hist]"
    assert rows["code"].startswith("Hist ")
    assert rows["git"] == f"{done} at {commit_of(done)[:12]}"
    assert rows["software"].startswith("python 3.")
    assert rows["inputs"] == "2 files"
    assert f"  {done / 'data' / 'events' / 'ev_0.txt'} (3 B, " in res.stdout


def test_provenance_shows_a_branch_and_an_outdated_status_after_a_code_change(done):
    (done / "ana.py").write_text((done / "ana.py").read_text().replace("* 3", "* 4"))
    res = run_cli(["provenance", "data/events/ev_1.txt"], done)
    rows = fields(res.stdout)
    assert rows["task"] == "Events(branch=1)  [ana.Events]"
    assert rows["status"] == "outdated: code changed (Events)"
    assert "dirty" not in rows["git"]  # recorded before the edit
    res = run_cli(["provenance", "data/hist.txt"], done)
    assert fields(res.stdout)["status"] == "outdated: input ev_0.txt outdated; input ev_1.txt outdated"


def test_the_git_state_records_uncommitted_changes(done):
    (done / "ana.py").write_text((done / "ana.py").read_text() + "\n# note\n")
    (done / "data" / "events" / "ev_0.txt").unlink()
    assert run_cli(["run", "ana.Events", "--branch", "0"], done).returncode == 0
    rows = fields(run_cli(["provenance", "data/events/ev_0.txt"], done).stdout)
    assert rows["git"] == f"{done} at {commit_of(done)[:12]} (dirty: ana.py)"


def test_provenance_json_has_the_record_and_the_status(done):
    res = run_cli(["provenance", "--json", "data/hist.txt"], done)
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["task"] == {"family": "Hist", "module": "ana", "class": "Hist",
                            "params": {"window": "60,120"}, "defaulted": ["window"],
                            "branch": None}
    assert data["status"] == "current" and data["reasons"] == []
    assert [i["path"].rsplit("/", 1)[1] for i in data["inputs"]] == ["ev_0.txt", "ev_1.txt"]
    assert data["git"]["commit"] == commit_of(done) and data["git"]["dirty"] is False
    assert data["end"] >= data["start"] > 0


def test_paths_without_a_record_are_one_line_and_exit_code_1(done):
    (done / "notes.txt").write_text("by hand")
    res = run_cli(["provenance", "notes.txt"], done)
    assert res.returncode == 1
    assert res.stderr.strip().endswith("or not by a pipekit task")
    assert "no provenance record" in res.stderr and "Traceback" not in res.stderr
    res = run_cli(["provenance", "data/missing.txt"], done)
    assert res.returncode == 1 and "does not exist" in res.stderr


def test_print_output_with_provenance_adds_each_record(done):
    res = run_cli(["run", "ana.Hist", "--print-output", "1,provenance"], done)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    i = lines.index(f"file://{done / 'data' / 'hist.txt'}")
    assert lines[i + 1] == "    status    current"
    assert lines[i + 2] == "    task      Hist(window=60,120)  [ana.Hist]"
    assert f"file://{done / 'data' / 'events' / 'ev_1.txt'}" in lines
    plain = run_cli(["run", "ana.Hist", "--print-output", "1"], done)
    assert [ln for ln in plain.stdout.splitlines() if ln.startswith("file://")] == [
        ln for ln in lines if ln.startswith("file://")]
    bad = run_cli(["run", "ana.Hist", "--print-output", "1,x"], done)
    assert bad.returncode == 2 and "D,provenance" in bad.stderr
