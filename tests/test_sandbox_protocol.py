"""
The outer/inner protocol of a sandboxed run: the inner command line recreates the very same
task, shell commands never touch an argument, and the variables that mark the inner process.
"""

from __future__ import annotations

import datetime
import subprocess

import luigi
import pytest
from sandbox_helpers import TRICKY_VALUE

import pipekit as law
from pipekit.cli.run import instantiate, parse_task_args
from pipekit.sandbox.protocol import current_sandbox, inner_args, inside_sandbox, shell_wrap


class ManyParams(law.SandboxTask, law.LocalWorkflow):
    sandbox = "bash::setup.sh"
    i = luigi.IntParameter(default=3)
    f = luigi.FloatParameter(default=0.1)
    flag = luigi.BoolParameter(default=False)
    text = luigi.Parameter(default="")
    items = luigi.ListParameter(default=[1, "two"])
    mapping = luigi.DictParameter(default={"a": [1, 2]})
    day = luigi.DateParameter(default=datetime.date(2024, 2, 29))
    secret = luigi.Parameter(
        default="hidden", visibility=luigi.parameter.ParameterVisibility.PRIVATE
    )

    def create_branch_map(self):
        return {0: "a", 1: "b"}


@pytest.mark.parametrize("branch", [-1, 1])
def test_inner_command_recreates_the_same_task(home, branch):
    task = ManyParams(
        i=7,
        f=2.5,
        flag=True,
        text=TRICKY_VALUE,
        items=[3, "x y"],
        mapping={"k": {"n": None}},
        day=datetime.date(1999, 12, 31),
        branch=branch,
    )
    args = inner_args(task)
    assert args[:2] == ["run", "test_sandbox_protocol.ManyParams"]
    assert args[-1] == "--local-scheduler" and "--secret" not in args
    kwargs, opts, _, _ = parse_task_args(ManyParams, args[2:])
    inner = instantiate(ManyParams, kwargs)
    assert opts.local_scheduler is True
    assert inner.task_id == task.task_id and inner.text == TRICKY_VALUE


def test_shell_wrap_runs_the_commands_then_the_arguments_verbatim(tmp_path):
    argv = shell_wrap(["printf", "%s|", TRICKY_VALUE, "$X"], ["export X=1", "cd " + str(tmp_path)])
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    assert out == f"{TRICKY_VALUE}|$X|"
    assert shell_wrap(["a", "b"], []) == ["a", "b"]
    failing = shell_wrap(["echo", "not reached"], ["false"])
    proc = subprocess.run(failing, capture_output=True, text=True)
    assert proc.returncode == 1 and proc.stdout == ""


def test_inner_process_is_recognised_by_its_variables(monkeypatch):
    assert not inside_sandbox() and current_sandbox() == ""
    monkeypatch.setenv("LAW_SANDBOX", "docker::img,bash::x.sh")
    assert not inside_sandbox()  # only the switch marks the sandboxed side
    monkeypatch.setenv("LAW_SANDBOX_SWITCHED", "1")
    assert inside_sandbox() and current_sandbox() == "docker::img"
