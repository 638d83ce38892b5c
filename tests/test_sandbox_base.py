"""
SandboxTask and Sandbox: sandbox keys and types, which sandbox a task runs in, what changes
inside a sandbox, how failures are reported, configuration and ``require_sandbox``.
"""

from __future__ import annotations

import pytest

import pipekit as law
from pipekit.errors import SandboxError, UsageError
from pipekit.sandbox.base import Sandbox, SandboxKeyError, require_sandbox


class NeedsSandbox(law.SandboxTask):
    def output(self):
        return law.LocalFileTarget("data/needs.txt")

    def run(self):
        self.output().dump("ran here", formatter="text")


class MaybeSandbox(NeedsSandbox):
    allow_empty_sandbox = True


class OnlyDocker(NeedsSandbox):
    valid_sandboxes = ["docker::*"]


class FallsBack(OnlyDocker):
    def fallback_sandbox(self, sandbox):
        return "docker::fallback-image"


class Upstream(law.Task):
    def output(self):
        return law.LocalFileTarget("data/upstream.txt")


class WithInput(NeedsSandbox):
    def requires(self):
        return Upstream()


class Guarded(law.SandboxTask):
    allow_empty_sandbox = True

    @require_sandbox
    def inside_only(self):
        return "ok"

    @require_sandbox("docker::*")
    def docker_only(self):
        return "ok"


class Recorder(Sandbox):
    """A sandbox type defined by a user: it records what it was asked and answers as told."""

    sandbox_type = "recorder_test"
    answer: tuple[int, list[str]] = (0, [])

    def run_task(self, stage):
        return self.answer


class StagingRecorder(Recorder):
    """Like Recorder, but staging targets as container sandboxes do."""

    sandbox_type = "staging_recorder_test"
    stages_targets = True


def test_malformed_keys_and_unknown_types_fail_when_the_sandbox_is_first_used(home):
    task = NeedsSandbox(sandbox="setup.sh")  # as in law: creating it (for --print-status) works
    assert not task.complete()
    with pytest.raises(
        SandboxKeyError, match=r"invalid sandbox 'setup\.sh': write it as TYPE::NAME"
    ) as e:
        task.run()
    assert isinstance(e.value, UsageError) and e.value.exit_code == 2
    with pytest.raises(
        SandboxKeyError,
        match=r"unknown sandbox type 'nope'; known types: apptainer, bash, docker, .*singularity, .*venv",
    ):
        NeedsSandbox(sandbox="nope::x").effective_sandbox  # noqa: B018


def test_task_needs_a_sandbox_unless_it_may_run_without(home):
    with pytest.raises(
        SandboxKeyError, match="NeedsSandbox needs a sandbox: pass --sandbox TYPE::NAME"
    ):
        NeedsSandbox().run()
    task = MaybeSandbox()
    assert task.is_sandboxed() and task.sandbox_inst is None
    task.run()  # runs right here
    assert (home.parent / "work" / "data" / "needs.txt").read_text() == "ran here"


def test_sandbox_parameter_must_match_valid_sandboxes_or_fall_back(home):
    with pytest.raises(
        SandboxKeyError,
        match=r"sandbox 'bash::x.sh' is not allowed for OnlyDocker; allowed: docker::\*",
    ):
        OnlyDocker(sandbox="bash::x.sh").is_sandboxed()
    assert OnlyDocker(sandbox="docker::img").effective_sandbox == "docker::img"
    assert FallsBack(sandbox="bash::x.sh").effective_sandbox == "docker::fallback-image"


def test_user_defined_sandbox_type_is_found_by_key_and_its_failures_reported(home):
    assert "recorder_test" in Sandbox.known_types()
    task = NeedsSandbox(sandbox="recorder_test::anything")
    assert (
        isinstance(task.sandbox_inst, Recorder)
        and task.sandbox_inst.key == "recorder_test::anything"
    )

    Recorder.answer = (3, ["first line", "Traceback ...", "RuntimeError: the last line"])
    with pytest.raises(SandboxError) as e:
        task.run()
    msg = str(e.value)
    assert msg.startswith(
        "NeedsSandbox(sandbox=recorder_test::anything) failed in sandbox "
        "'recorder_test::anything' with exit code 3"
    )
    assert msg.endswith(
        "last lines of its output:\n  first line\n  Traceback ...\n  RuntimeError: the last line"
    )

    Recorder.answer = (0, [])
    with pytest.raises(
        SandboxError,
        match=r"finished in sandbox 'recorder_test::anything' but did not write .*data/needs.txt",
    ):
        task.run()

    # a container sandbox whose task wrote its output inside but did not stage it out
    staged = NeedsSandbox(sandbox="staging_recorder_test::img")
    with pytest.raises(
        SandboxError, match=r"did not write .*needs.txt; outputs not staged out need a volume"
    ):
        staged.run()


def test_inside_a_sandbox_requirements_are_hidden_and_run_executes(home, monkeypatch):
    outside = WithInput(sandbox="bash::setup.sh")
    assert outside.deps() == [Upstream()]
    assert not outside.is_sandboxed()

    monkeypatch.setenv("LAW_SANDBOX", "bash::setup.sh")
    monkeypatch.setenv("LAW_SANDBOX_SWITCHED", "1")
    inside = WithInput(sandbox="bash::setup.sh")
    monkeypatch.setenv("LAW_SANDBOX_TASK_ID", inside.task_id)
    assert inside.deps() == []  # luigi inside neither checks nor runs Upstream
    assert inside.input().path == Upstream().output().path  # but the task still reads it
    assert inside.is_sandboxed() and inside.is_sandboxed_task() and inside.sandbox_inst is None
    inside.run()
    assert (home.parent / "work" / "data" / "needs.txt").read_text() == "ran here"


def test_require_sandbox_refuses_calls_outside_or_in_the_wrong_sandbox(home, monkeypatch):
    with pytest.raises(
        SandboxError,
        match=r"inside_only\(\) of Guarded\(sandbox=bash::s.sh\) must run inside sandbox 'bash::s.sh', but was called outside",
    ):
        Guarded(sandbox="bash::s.sh").inside_only()
    monkeypatch.setenv("LAW_SANDBOX", "bash::s.sh")
    monkeypatch.setenv("LAW_SANDBOX_SWITCHED", "1")
    task = Guarded(sandbox="bash::s.sh")
    assert task.inside_only() == "ok"
    with pytest.raises(
        SandboxError, match=r"needs a sandbox matching docker::\*, but runs in 'bash::s.sh'"
    ):
        task.docker_only()
    assert law.decorator.require_sandbox is require_sandbox


def test_sandbox_variables_come_from_config_hook_and_pipekit(home, monkeypatch):
    # a law.cfg as law users write it: bare names and patterns forward the host's values
    (home.parent / "work" / "law.cfg").write_text(
        "[bash_sandbox_env]\nSET_HERE: v\nFROM_HOST\nABSENT\nGRID_*\n\n"
        "[bash_sandbox_env_setup.sh]\nSET_HERE: per-name\n"
    )
    monkeypatch.setenv("FROM_HOST", "host value")
    monkeypatch.setenv("GRID_A", "1")
    monkeypatch.setenv("GRID_B", "2")

    class WithEnv(NeedsSandbox):
        def sandbox_env(self, env):
            return {"FROM_HOOK": env["SET_HERE"] + "+hook", "LAW_SANDBOX": "overridden?"}

    task = WithEnv(sandbox="bash::setup.sh")
    env = task.sandbox_inst.task_env()
    assert env["SET_HERE"] == "per-name" and env["FROM_HOST"] == "host value"
    assert "ABSENT" not in env and env["GRID_A"] == "1" and env["GRID_B"] == "2"
    assert env["FROM_HOOK"] == "per-name+hook"
    assert env["LAW_SANDBOX"] == "bash::setup.sh" and env["LAW_SANDBOX_SWITCHED"] == "1"
    assert env["LAW_SANDBOX_TASK_ID"] == task.task_id


class CustomInput(law.SandboxTask):
    sandbox = "docker::img"

    def requires(self):
        return Upstream()

    def input(self):  # a task that shapes its inputs itself still gets the staged ones inside
        return {"up": super().input()}

    def output(self):
        return law.LocalFileTarget("data/custom.txt")


def test_inside_a_staging_sandbox_inputs_and_outputs_are_the_staged_ones(home, monkeypatch):
    import json

    task = CustomInput()
    assert task.input()["up"].path == Upstream().output().path  # outside: the real paths
    manifest = home / "manifest.json"
    manifest.write_text(
        json.dumps(
            {
                "task_id": task.task_id,
                "inputs": ["/stage/in/0_upstream.txt"],
                "outputs": ["/stage/out/0_custom.txt"],
            }
        )
    )
    monkeypatch.setenv("LAW_SANDBOX", "docker::img")
    monkeypatch.setenv("LAW_SANDBOX_SWITCHED", "1")
    monkeypatch.setenv("PIPEKIT_SANDBOX_MANIFEST", str(manifest))
    inside = CustomInput()
    assert inside.input()["up"].path == "/stage/in/0_upstream.txt"
    assert inside.output().path == "/stage/out/0_custom.txt"
    assert Upstream().output().path != "/stage/in/0_upstream.txt"  # other tasks are untouched


def test_print_status_of_a_task_needing_an_unavailable_sandbox_works_as_in_law(home, capsys):
    from pipekit.task.interactive import print_task_status

    class Downstream(law.Task):
        def requires(self):
            return NeedsSandbox(sandbox="nope::image")  # an unknown type: fails only when run

        def output(self):
            return law.LocalFileTarget("data/down.txt")

    print_task_status(Downstream(), "1")
    out = capsys.readouterr().out
    assert "NeedsSandbox(sandbox=nope::image)" in out and "absent" in out
