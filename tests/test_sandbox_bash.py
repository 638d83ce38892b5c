"""
The bash sandbox, for real: ``pipekit run`` in an analysis directory, tasks sourcing real bash
scripts, the sandboxed side running as a real ``pipekit run`` subprocess.
"""

from __future__ import annotations

import os

import pytest
from sandbox_helpers import TRICKY_VALUE, make_analysis, read_json, run_pipekit, write

pytestmark = pytest.mark.timeout(300)


def test_task_runs_with_the_script_environment_and_verbatim_parameters(tmp_path):
    work = make_analysis(tmp_path)
    proc = run_pipekit(
        ["run", "sbtasks.Report", "--sandbox", "bash::test_env1.sh", "--value", TRICKY_VALUE], work
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = read_json(work / "data" / "report_x.json")
    assert report["value"] == TRICKY_VALUE
    assert not (work / "pwned").exists()
    assert report["my_variable"] == "foo"
    assert report["sandbox"] == "bash::test_env1.sh"
    # setup hooks: pre before sourcing, post after it (sees the script's variable), setup per run
    assert report["env"]["PRE_SETUP"] == "pre"
    assert report["env"]["POST_SETUP"] == "post-foo"
    assert report["env"]["SETUP_CMD"] == "setup"
    # bash/venv sandboxes read and write the real paths
    assert report["input_path"] == str(work / "data" / "upstream.txt")
    # the banner marks entering and leaving, in this order, around the inner run
    out = proc.stdout
    enter, inner, leave = (
        out.index("entering sandbox"),
        out.index("inside the sandbox:"),
        out.index("leaving sandbox (exit code 0"),
    )
    assert enter < inner < leave
    assert "sandbox: bash::test_env1.sh" in out


def test_requirements_run_once_outside_the_sandbox(tmp_path):
    work = make_analysis(tmp_path)
    proc = run_pipekit(["run", "sbtasks.Report", "--sandbox", "bash::test_env1.sh"], work)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (work / "data" / "upstream_runs.txt").read_text() == "run\n"
    assert read_json(work / "data" / "report_x.json")["input"] == "from upstream"
    # the upstream task started once, before the sandbox was entered
    assert proc.stdout.count("running Upstream()") == 1
    assert proc.stdout.index("running Upstream()") < proc.stdout.index("entering sandbox")


def test_environment_is_cached_and_remade_when_script_or_arguments_change(tmp_path):
    work = make_analysis(tmp_path)
    counter = work / "sourced.txt"
    write(work / "setup.sh", f'echo sourced >> {counter}\nexport MY_VARIABLE="v1-$1"\n')

    def run(tag: str, sandbox: str) -> str:
        proc = run_pipekit(["run", "sbtasks.Report", "--sandbox", sandbox, "--tag", tag], work)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return read_json(work / "data" / f"report_{tag}.json")["my_variable"]

    assert run("a", "bash::setup.sh one") == "v1-one"
    assert run("b", "bash::setup.sh one") == "v1-one"
    assert counter.read_text().count("sourced") == 1  # second run: cached, bash not started

    assert run("c", "bash::setup.sh two") == "v1-two"  # other arguments: sourced again
    assert counter.read_text().count("sourced") == 2

    write(work / "setup.sh", f'echo sourced >> {counter}\nexport MY_VARIABLE="v2-$1"\n')
    assert run("d", "bash::setup.sh one") == "v2-one"  # changed script: sourced again
    assert counter.read_text().count("sourced") == 3


def test_cached_environment_follows_the_callers_path(tmp_path):
    work = make_analysis(tmp_path)
    counter = work / "sourced.txt"
    write(work / "setup.sh", f"echo sourced >> {counter}\nexport PATH=/opt/sw/bin:$PATH\n")
    for tag, extra in (("a", "/first/bin"), ("b", "/second/bin")):
        path = f"{extra}:{os.environ['PATH']}"
        proc = run_pipekit(
            ["run", "sbtasks.Report", "--sandbox", "bash::setup.sh", "--tag", tag],
            work,
            env={"PATH": path},
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert read_json(work / "data" / f"report_{tag}.json")["path"] == f"/opt/sw/bin:{path}"
    assert counter.read_text().count("sourced") == 1


def test_failing_setup_script_names_the_sandbox_and_shows_its_error(tmp_path):
    work = make_analysis(tmp_path)
    write(work / "broken.sh", 'echo "cannot find the software release" >&2\nfalse\n')
    proc = run_pipekit(["run", "sbtasks.Report", "--sandbox", "bash::broken.sh"], work)
    assert proc.returncode == 40
    assert "setting up sandbox 'bash::broken.sh' failed" in proc.stdout + proc.stderr
    assert "cannot find the software release" in proc.stdout + proc.stderr
    assert not (work / "data" / "report_x.json").exists()


def test_task_failing_inside_shows_exit_code_and_last_lines(tmp_path):
    work = make_analysis(tmp_path)
    proc = run_pipekit(["run", "sbtasks.Report", "--sandbox", "bash::test_env1.sh", "--fail"], work)
    assert proc.returncode == 40
    err = proc.stderr
    assert "failed in sandbox 'bash::test_env1.sh' with exit code 40" in err
    assert "ValueError: boom from inside the sandbox" in err.split("last lines of its output:")[1]
    assert "leaving sandbox (exit code 40" in proc.stdout  # the inner run's retcode


def test_missing_script_and_unknown_type_are_clear_errors(tmp_path):
    work = make_analysis(tmp_path)
    proc = run_pipekit(["run", "sbtasks.Report", "--sandbox", "bash::nowhere.sh"], work)
    assert proc.returncode == 40
    assert f"the script {work / 'nowhere.sh'} does not exist" in proc.stdout + proc.stderr

    proc = run_pipekit(["run", "sbtasks.Report", "--sandbox", "podman::image"], work)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1] == (
        "pipekit: error: unknown sandbox type 'podman'; known types: apptainer, bash, docker, "
        "singularity, venv"
    )


def test_branches_of_a_local_workflow_each_run_in_the_sandbox(tmp_path):
    work = make_analysis(tmp_path)
    proc = run_pipekit(
        ["run", "sbtasks.Branches", "--sandbox", "bash::test_env1.sh", "--workers", "2"], work
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for b, word in enumerate(["zero", "one", "two"]):
        assert (work / "data" / f"branch_{b}.txt").read_text() == f"{word} foo bash::test_env1.sh"
    assert proc.stdout.count("entering sandbox") == 3


def test_parameters_of_other_tasks_given_on_the_command_line_reach_the_sandbox(tmp_path):
    work = make_analysis(tmp_path)
    write(
        work / "chain.py",
        """
        import luigi
        import pipekit as law


        class Source(law.Task):
            n = luigi.IntParameter(default=1)

            def output(self):
                return law.LocalFileTarget(f"data/source_{self.n}.txt")

            def run(self):
                self.output().dump(f"source {self.n}", formatter="text")


        class Sink(law.SandboxTask):
            def requires(self):
                return Source()

            def output(self):
                return law.LocalFileTarget("data/sink.txt")

            def run(self):
                self.output().dump(self.input().load(formatter="text"), formatter="text")
        """,
    )
    proc = run_pipekit(
        ["run", "chain.Sink", "--sandbox", "bash::test_env1.sh", "--Source-n", "3"], work
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (work / "data" / "sink.txt").read_text() == "source 3"
