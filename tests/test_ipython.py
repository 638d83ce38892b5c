"""
Tests for the IPython magics and the notebook Task (pipekit.ipython), in a real IPython shell.

``%ilaw`` runs in the shell's own process, so tasks are defined with ``run_cell`` as a user
would in a notebook; ``%law`` starts real ``pipekit`` subprocesses. (The Jupyter kernel path is
covered by tests/test_notebook.py, which executes examples/notebooks/intro.ipynb.)
"""

from __future__ import annotations

import json
import textwrap

import pytest

pytest.importorskip("IPython")

from IPython.core.interactiveshell import InteractiveShell  # noqa: E402
from pipekit.ipython import MagicError, register_magics  # noqa: E402

DOUBLE = """
import luigi
import pipekit as law


class NbDouble(law.ipython.Task):
    n = luigi.IntParameter()

    def output(self):
        return law.LocalFileTarget(f"data/n{self.n}.json")

    def run(self):
        self.output().dump({"in": self.n, "out": FACTOR * self.n})


FACTOR = 2
"""

MODULE = """
import luigi
import pipekit as law


class ModDouble(law.Task):
    n = luigi.IntParameter()

    def output(self):
        return law.LocalFileTarget(f"data/mod{self.n}.json")

    def run(self):
        print("doubling", self.n)
        self.output().dump({"in": self.n, "out": 2 * self.n})
"""


@pytest.fixture(scope="module")
def shell():
    ip = InteractiveShell.instance()
    register_magics(shell=ip)
    yield ip
    InteractiveShell.clear_instance()


@pytest.fixture
def work(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def cell(shell, source: str):
    return shell.run_cell(textwrap.dedent(source))


def test_ilaw_runs_a_task_defined_in_the_shell(shell, work, capsys):
    assert cell(shell, DOUBLE).success
    result = cell(shell, "%ilaw run NbDouble --n 5")
    assert result.success, result.error_in_exec
    assert json.loads((work / "data" / "n5.json").read_text()) == {"in": 5, "out": 10}
    out = capsys.readouterr().out
    assert "done    NbDouble(n=5)" in out and "1 ran successfully" in out


def test_ilaw_print_status_and_remove_output_inspect_without_running(shell, work, capsys):
    cell(shell, DOUBLE)
    assert cell(shell, "%ilaw run NbDouble --n 3 --print-status 0").success
    assert "data/n3.json)\n│       absent" in capsys.readouterr().out
    assert not (work / "data" / "n3.json").exists()
    cell(shell, "%ilaw run NbDouble --n 3")
    assert cell(shell, "%ilaw run NbDouble --n 3 --remove-output 0,a").success
    assert "n3.json): removed" in capsys.readouterr().out
    assert not (work / "data" / "n3.json").exists()


def test_ilaw_mistake_shows_one_line_and_the_shell_keeps_working(shell, work, capsys):
    cell(shell, DOUBLE)
    result = cell(shell, "%ilaw run NbDouble --nn 5")
    assert isinstance(result.error_in_exec, MagicError)
    captured = capsys.readouterr()
    text = captured.out + captured.err
    assert "pipekit: error: unknown option --nn for NbDouble; did you mean --n?" in text
    assert "Traceback" not in text
    assert cell(shell, "%ilaw nosuchcommand").error_in_exec is not None
    assert "unknown command 'nosuchcommand'" in capsys.readouterr().out
    assert cell(shell, "after = 1 + 1").success and shell.user_ns["after"] == 2


def test_ilaw_failing_task_ends_the_cell_with_the_exit_code(shell, work, capsys):
    cell(shell, DOUBLE)
    cell(shell, "FACTOR = None")  # run() now raises a TypeError
    result = cell(shell, "%ilaw run NbDouble --n 4")
    assert isinstance(result.error_in_exec, MagicError)
    assert "failed with exit code 40" in str(result.error_in_exec)  # law's retcode
    captured = capsys.readouterr()
    assert "failed  NbDouble(n=4): TypeError" in captured.err
    assert not (work / "data" / "n4.json").exists()


def test_redefining_a_task_class_in_a_cell_replaces_the_old_one(shell, work):
    cell(shell, DOUBLE)
    cell(shell, DOUBLE.replace("FACTOR * self.n", "3 * self.n"))
    cell(
        shell,
        """
        class NbUser(law.ipython.Task):
            def requires(self):
                return NbDouble()  # n comes from the command line: --NbDouble-n

            def output(self):
                return law.LocalFileTarget("data/user.json")

            def run(self):
                self.output().dump(self.input().load())
        """,
    )
    # --NbDouble-n looks the family up by name: it must not be ambiguous after the redefinition
    result = cell(shell, "%ilaw run NbUser --NbDouble-n 7")
    assert result.success, result.error_in_exec
    assert json.loads((work / "data" / "user.json").read_text()) == {"in": 7, "out": 21}


def test_ilaw_graph_writes_the_picture(shell, work, capsys):
    cell(shell, DOUBLE)
    assert cell(shell, "%ilaw graph NbDouble --n 2 -o deps.svg --backend matplotlib").success
    assert "dependency graph of NbDouble(n=2) (1 node, matplotlib)" in capsys.readouterr().out
    assert "NbDouble" in (work / "deps.svg").read_text()


def test_law_runs_pipekit_as_a_subprocess_and_streams_its_output(shell, work, capsys):
    (work / "moddouble.py").write_text(MODULE)
    assert cell(shell, "%law run moddouble.ModDouble --n 6").success
    out = capsys.readouterr().out
    assert "doubling 6" in out and "done    ModDouble(n=6)" in out
    assert json.loads((work / "data" / "mod6.json").read_text()) == {"in": 6, "out": 12}
    result = cell(shell, "%law run moddouble.ModDouble --n x")
    assert isinstance(result.error_in_exec, MagicError)
    assert "exited with code 2" in str(result.error_in_exec)
    assert "invalid value for --n of ModDouble: 'x'" in capsys.readouterr().out


def test_aliases_pipekit_and_ipipekit(shell, work):
    (work / "moddouble.py").write_text(MODULE)
    cell(shell, DOUBLE)
    assert cell(shell, "%pipekit run moddouble.ModDouble --n 1").success
    assert cell(shell, "%ipipekit run NbDouble --n 1").success
    assert (work / "data" / "mod1.json").exists() and (work / "data" / "n1.json").exists()


def test_init_cmd_runs_once_and_line_cmd_before_every_law(shell, work):
    sub = work / "sub"
    sub.mkdir()
    (sub / "moddouble.py").write_text(MODULE)
    register_magics(init_cmd="echo init >> init.log", line_cmd=["cd", "sub"], shell=shell)
    try:
        assert (work / "init.log").read_text() == "init\n"
        # the module is only importable from sub/: line_cmd must have run in the same shell
        assert cell(shell, "%law run moddouble.ModDouble --n 2").success
        assert cell(shell, "%law run moddouble.ModDouble --n 3").success
        assert (sub / "data" / "mod2.json").exists() and (sub / "data" / "mod3.json").exists()
        assert (work / "init.log").read_text() == "init\n"
    finally:
        register_magics(shell=shell)  # the plain magics again for the other tests


def test_task_shows_as_html_in_a_notebook(shell, work):
    cell(shell, DOUBLE)
    html = shell.user_ns["NbDouble"](n=8)._repr_html_()
    assert "NbDouble</b>" in html and "n</span>=8" in html


def test_contrib_load_ipython_registers_the_magics_as_in_law(shell, work):
    cell(shell, DOUBLE)
    for name in ("law", "ilaw", "pipekit", "ipipekit"):
        shell.magics_manager.magics["line"].pop(name)
    assert cell(shell, "%ilaw run NbDouble --n 9").error_in_exec is not None  # not found
    assert cell(shell, 'law.contrib.load("ipython")').success
    assert cell(shell, "%ilaw run NbDouble --n 9").success
    assert (work / "data" / "n9.json").exists()
