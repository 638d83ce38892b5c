"""
The interactive task options of ``pipekit run`` (real subprocesses, stdin not a terminal):
``--print-deps``, ``--print-status``, ``--print-output``, ``--remove-output`` (modes and the
RUN flag) and ``--fetch-output``.
"""

from __future__ import annotations

import os
import subprocess

import pytest
from cli_helpers import cli_env, run_cli, script, write

CHAIN = """
import luigi

import pipekit as law


class Chars(law.LocalWorkflow):
    def create_branch_map(self):
        return {i: chr(97 + i) for i in range(3)}

    def output(self):
        return law.LocalFileTarget(f"data/chars/char_{self.branch}.txt")

    def run(self):
        self.output().dump(self.branch_data, formatter="text")


class Word(law.Task):
    def requires(self):
        return Chars.req(self)

    def output(self):
        return law.LocalFileTarget("data/word.txt")

    def run(self):
        chars = [t.load(formatter="text") for t in self.input()["collection"].iter_targets()]
        self.output().dump("".join(chars), formatter="text")


class Report(law.Task):
    def requires(self):
        return Word.req(self)

    def output(self):
        return law.LocalFileTarget("data/report.txt")

    def run(self):
        self.output().dump("word: " + self.input().load(formatter="text"), formatter="text")
"""


@pytest.fixture
def work(tmp_path):
    work = tmp_path / "work"
    write(work / "chain.py", CHAIN)
    return work


@pytest.fixture
def done(work):
    res = run_cli(["run", "chain.Report"], work)
    assert res.returncode == 0, res.stderr
    return work


def test_print_deps_shows_the_tree_to_the_depth(work):
    res = run_cli(["run", "chain.Report", "--print-deps", "1"], work)
    assert res.returncode == 0
    lines = [line for line in res.stdout.splitlines() if ">" in line]
    assert lines == ["0 > Report()", "└──1 > Word()"]
    res = run_cli(["run", "chain.Report", "--print-deps", "-1"], work)
    assert "\n   └──2 > Chars(branch=-1)\n" in res.stdout
    assert not (work / "data").exists()  # inspecting runs nothing


def test_print_status_shows_presence_and_the_branch_summary(work):
    run_cli(["run", "chain.Chars", "--branch", "1"], work)
    res = run_cli(["run", "chain.Report", "--print-status", "-1"], work)
    assert res.returncode == 0
    out = res.stdout
    assert f"LocalFileTarget(fs=local_fs, path={work / 'data' / 'report.txt'})" in out
    assert "absent (1/3)" in out
    assert "branches: 3 selected, 1 present, 2 missing (0,2)" in out


def test_print_output_lists_every_output_location(done):
    res = run_cli(["run", "chain.Report", "--print-output", "-1"], done)
    outputs = [line for line in res.stdout.splitlines() if line.startswith("file://")]
    data = done / "data"
    assert outputs == [
        f"file://{data / name}"
        for name in (
            "report.txt",
            "word.txt",
            "chars/char_0.txt",
            "chars/char_1.txt",
            "chars/char_2.txt",
        )
    ]


def test_remove_output_dry_mode_removes_nothing(done):
    res = run_cli(["run", "chain.Report", "--remove-output", "-1,d"], done)
    assert res.returncode == 0
    assert "would be removed" in res.stdout
    assert (done / "data" / "report.txt").exists() and (done / "data" / "word.txt").exists()


def test_remove_output_all_mode_removes_to_the_depth_only(done):
    res = run_cli(["run", "chain.Report", "--remove-output", "1,a"], done)
    assert res.returncode == 0
    assert not (done / "data" / "report.txt").exists()
    assert not (done / "data" / "word.txt").exists()
    assert len(list((done / "data" / "chars").iterdir())) == 3  # depth 2 is kept


def test_remove_output_without_a_terminal_uses_the_depth_given(done):
    res = run_cli(["run", "chain.Report", "--remove-output", "0"], done)
    assert res.returncode == 0
    assert not (done / "data" / "report.txt").exists()
    assert (done / "data" / "word.txt").exists()


def test_remove_output_interactive_mode_needs_a_terminal(done):
    res = run_cli(["run", "chain.Report", "--remove-output", "0,i"], done)
    assert res.returncode == 2
    assert "needs a terminal" in res.stderr
    assert (done / "data" / "report.txt").exists()


def test_remove_output_interactive_mode_asks_for_each_task_in_a_terminal(done):
    master, terminal = os.openpty()  # stdin is a real terminal for the run
    try:
        proc = subprocess.Popen(
            [script(), "run", "chain.Report", "--remove-output", "1,i"],
            cwd=done,
            env=cli_env(done),
            stdin=terminal,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        os.write(master, b"y\nn\n")  # remove Report's output, keep Word's
        try:
            out, err = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise
    finally:
        os.close(terminal)
        os.close(master)
    assert proc.returncode == 0, err
    assert out.count("[y/N]") == 2
    assert not (done / "data" / "report.txt").exists()
    assert (done / "data" / "word.txt").read_text() == "abc"


def test_remove_output_with_run_flag_runs_again(done):
    (done / "data" / "word.txt").write_text("stale")
    res = run_cli(["run", "chain.Report", "--remove-output", "1,a,y"], done)
    assert res.returncode == 0, res.stderr
    assert "done    Report()" in res.stdout
    assert (done / "data" / "report.txt").read_text() == "word: abc"


def test_fetch_output_copies_outputs_into_a_directory(done, tmp_path):
    dest = tmp_path / "fetched"
    res = run_cli(["run", "chain.Report", "--fetch-output", f"1,a,{dest}"], done)
    assert res.returncode == 0, res.stderr
    assert sorted(p.name for p in dest.iterdir()) == ["report.txt", "word.txt"]
    assert (dest / "report.txt").read_text() == "word: abc"
