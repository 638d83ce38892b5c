"""
``pipekit run`` as users call it: real subprocesses of the installed console scripts in a temp
analysis directory. Output files, exit codes and what is printed are what is checked.
"""

from __future__ import annotations

import json

import pytest
from cli_helpers import TASKS, run_cli, write


@pytest.fixture
def work(tmp_path):
    work = tmp_path / "work"
    write(work / "mytasks.py", TASKS)
    return work


def test_run_module_class_writes_the_output_and_prints_the_summary(work):
    res = run_cli(["run", "mytasks.TimesTwo", "--n", "5"], work)
    assert res.returncode == 0, res.stderr
    assert json.loads((work / "data" / "n5.json").read_text()) == {"in": 5, "out": 10}
    assert "done    TimesTwo(n=5)" in res.stdout
    assert "Luigi Execution Summary" in res.stdout


def test_law_alias_runs_the_same_task(work):
    res = run_cli(["run", "mytasks.TimesTwo", "--n", "3"], work, prog="law")
    assert res.returncode == 0, res.stderr
    assert json.loads((work / "data" / "n3.json").read_text()) == {"in": 3, "out": 6}
    assert "done    TimesTwo(n=3)" in res.stdout


def test_help_lists_the_task_parameters_and_run_options(work):
    res = run_cli(["run", "mytasks.TimesTwo", "--help"], work)
    assert res.returncode == 0
    assert "--n" in res.stdout and "IntParameter; required" in res.stdout
    assert "--print-status" in res.stdout and "--workers" in res.stdout


def test_failing_task_exits_40_as_under_law_with_its_traceback_and_the_summary(work):
    res = run_cli(["run", "mytasks.Broken"], work)
    assert res.returncode == 40
    assert "RuntimeError: the input file is corrupt" in res.stderr
    assert 'raise RuntimeError("the input file is corrupt")' in res.stderr  # the user's frame
    assert "1 failed" in res.stdout and "Broken()" in res.stdout
    assert not (work / "data" / "never.txt").exists()


@pytest.mark.parametrize(
    "args, expected",
    [
        (["run", "mytasks.TimesTwoo", "--n", "1"], "did you mean mytasks.TimesTwo?"),
        (
            ["run", "mytasks.TimesTwo", "--nn", "1"],
            "unknown option --nn for TimesTwo; did you mean --n",
        ),
        (["run", "mytasks.TimesTwo", "--n", "five"], "invalid value for --n of TimesTwo: 'five'"),
        (["run", "mytasks.TimesTwo"], "TimesTwo needs --n"),
        (["run", "nomodule.Task"], "unknown task 'nomodule.Task'"),
    ],
    ids=["unknown-task", "unknown-option", "bad-value", "missing-value", "missing-module"],
)
def test_bad_input_gives_one_line_and_exit_2(work, args, expected):
    res = run_cli(args, work)
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert expected in lines[0]
    assert "Traceback" not in res.stderr + res.stdout


def test_broken_law_cfg_names_file_and_line(work):
    write(work / "law.cfg", "# analysis config\n\nindex_file: x\n[core]\n")
    res = run_cli(["run", "mytasks.TimesTwo", "--n", "1"], work)
    assert res.returncode == 2
    assert res.stderr.strip().count("\n") == 0
    assert f"{work / 'law.cfg'}:3" in res.stderr and "index_file: x" in res.stderr
    assert "Traceback" not in res.stderr


@pytest.mark.parametrize("how", ["--debug", "LAW_LOG_LEVEL=DEBUG"])
def test_debug_shows_the_traceback_of_bad_input(work, how):
    write(work / "law.cfg", "[core\n")
    args = ["run", "mytasks.TimesTwo", "--n", "1"]
    if how == "--debug":
        res = run_cli(["--debug", *args], work)
    else:
        res = run_cli(args, work, env={"LAW_LOG_LEVEL": "DEBUG"})
    assert res.returncode != 0
    assert "Traceback (most recent call last)" in res.stderr
    assert "ConfigError" in res.stderr and "broken section header" in res.stderr


def test_family_option_sets_a_parameter_of_a_required_task(work):
    # Downstream passes its n to Upstream through req(); --Upstream-n only fills what req()
    # leaves unset, so exclude n from req to see it take effect
    write(
        work / "chain.py",
        """
        import luigi
        import pipekit as law
        from mytasks import Upstream

        class Consumer(law.Task):
            def requires(self):
                return Upstream()

            def output(self):
                return law.LocalFileTarget("data/consumer.txt")

            def run(self):
                self.output().dump(self.input().load(formatter="text"), formatter="text")
    """,
    )
    res = run_cli(["run", "chain.Consumer", "--Upstream-n", "7"], work)
    assert res.returncode == 0, res.stderr
    assert (work / "data" / "consumer.txt").read_text() == "7"


def test_prefer_params_cli_lets_the_command_line_beat_req(work):
    write(
        work / "prefer.py",
        """
        import luigi
        import pipekit as law
        from mytasks import Downstream, Upstream

        class PreferUp(Upstream):
            prefer_params_cli = {"n"}

        class PreferDown(Downstream):
            def requires(self):
                return PreferUp.req(self)

            def output(self):
                return law.LocalFileTarget(f"data/prefer_down{self.n}.txt")
    """,
    )
    res = run_cli(["run", "prefer.PreferDown", "--n", "1", "--PreferUp-n", "9"], work)
    assert res.returncode == 0, res.stderr
    assert (work / "data" / "up9.txt").read_text() == "9"
    assert (work / "data" / "prefer_down1.txt").read_text() == "from 9"


def test_own_base_class_mixed_with_a_workflow_runs_all_branches(work):
    write(
        work / "mixed.py",
        """
        import luigi
        import pipekit as law

        class AnalysisTask(law.Task):
            version = luigi.Parameter(default="v1")

            def local_target(self, name):
                return law.LocalFileTarget(f"data/{self.version}/{name}")

        class Chars(AnalysisTask, law.LocalWorkflow):
            def create_branch_map(self):
                return {i: chr(97 + i) for i in range(4)}

            def output(self):
                return self.local_target(f"char_{self.branch}.txt")

            def run(self):
                self.output().dump(self.branch_data, formatter="text")
    """,
    )
    res = run_cli(["run", "mixed.Chars", "--version", "v2"], work)
    assert res.returncode == 0, res.stderr
    assert sorted(p.read_text() for p in (work / "data" / "v2").iterdir()) == ["a", "b", "c", "d"]


def test_unknown_subcommand_suggests_the_close_one(work):
    res = run_cli(["rnu"], work)
    assert res.returncode == 2
    assert "unknown command 'rnu'; did you mean 'run'?" in res.stderr


RETCODE_TASKS = '''
import pipekit as law


class Missing(law.ExternalTask):
    def output(self):
        return law.LocalFileTarget("data/not_delivered.txt")


class NeedsMissing(law.Task):
    def requires(self):
        return Missing()

    def output(self):
        return law.LocalFileTarget("data/needs.txt")

    def run(self):
        self.output().dump("x", formatter="text")


class BadRequires(law.Task):
    def requires(self):
        raise RuntimeError("requires() is broken")

    def output(self):
        return law.LocalFileTarget("data/bad.txt")
'''


@pytest.mark.parametrize("task, code", [
    ("NeedsMissing", 20),  # missing_data: an external input is not there
    ("BadRequires", 50),   # scheduling_error
])
def test_exit_codes_are_luigis_retcodes_with_laws_defaults(tmp_path, task, code):
    work = tmp_path / "work"
    write(work / "rc.py", RETCODE_TASKS)
    res = run_cli(["run", f"rc.{task}"], work)
    assert res.returncode == code, res.stdout + res.stderr


def test_retcodes_are_configured_in_law_cfg(work):
    write(work / "law.cfg", "[luigi_retcode]\ntask_failed: 3\n")
    assert run_cli(["run", "mytasks.Broken"], work).returncode == 3
    write(work / "law.cfg", "[luigi_retcode]\ntask_failed: 0\n")
    # luigi's rule: the task named did not finish, so not_run (30) applies; never 0
    assert run_cli(["run", "mytasks.Broken"], work).returncode == 30


def test_bad_input_keeps_one_line_and_exit_2(work):
    res = run_cli(["run", "mytasks.TimesTwo", "--n", "five"], work)
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1


def test_law_run_from_python_runs_the_task_as_the_command_line(work):
    code = ("import mytasks\n"
            "ok = mytasks.TimesTwo(n='7').law_run()\n"
            "again = mytasks.TimesTwo.law_run_inst(n=8, _global=['--print-status', '0'])\n"
            "import pipekit as law\n"
            "bad = law.util.law_run('mytasks.Broken')\n"
            "print('RESULT', ok, again, bad)\n")
    write(work / "driver.py", code)
    import subprocess
    import sys

    from cli_helpers import cli_env

    res = subprocess.run([sys.executable, "driver.py"], cwd=work, env=cli_env(work),
                         capture_output=True, text=True, timeout=120)
    assert "RESULT True True False" in res.stdout, res.stderr
    assert json.loads((work / "data" / "n7.json").read_text()) == {"in": 7, "out": 14}
    assert not (work / "data" / "n8.json").exists()  # --print-status only inspects


SLEEPERS = '''
import time
import luigi
import pipekit as law


class Nap(law.Task):
    i = luigi.IntParameter()

    def output(self):
        return law.LocalFileTarget(f"data/nap{self.i}.txt")

    def run(self):
        with self.output().open("w") as f:
            f.write("half")
            time.sleep(60)


class Naps(law.WrapperTask):
    def requires(self):
        return [Nap(i=i) for i in range(2)]
'''


@pytest.mark.timeout(60)
def test_ctrl_c_during_parallel_tasks_prints_one_line_and_leaves_nothing(work):
    import os
    import signal
    import subprocess
    import time

    from cli_helpers import cli_env, script

    write(work / "naps.py", SLEEPERS)
    # a terminal sends Ctrl-C to every process of the command's process group
    proc = subprocess.Popen([script(), "run", "naps.Naps", "--workers", "2"], cwd=work,
                            env=cli_env(work), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while len([n for n in os.listdir(work / "data")] if (work / "data").exists() else []) < 2:
            assert time.monotonic() < deadline, "the two tasks did not start writing"
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 130, out
    assert "Traceback" not in out and "KeyboardInterrupt" not in out, out
    assert out.strip().splitlines()[-1] == "pipekit: interrupted"
    assert not any(n.startswith("nap") for n in os.listdir(work / "data"))  # nothing half-written
    time.sleep(0.5)
    left = subprocess.run(["pgrep", "-s", str(proc.pid)], capture_output=True, text=True).stdout
    assert left.strip() == "", f"processes of the run still alive: {left}"
