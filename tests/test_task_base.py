"""Tests for pipekit.task.base: messages, progress and req()."""

from __future__ import annotations

import io
import sys

import luigi

import pipekit as law


class _Messenger(law.Task):
    n = luigi.IntParameter(default=1)

    def output(self):
        return []


def test_publish_message_writes_to_the_current_stdout(monkeypatch):
    buf = io.StringIO()
    monkeypatch.setattr(sys, "stdout", buf)  # as notebooks and output capture do
    _Messenger().publish_message("hello from the task")
    assert buf.getvalue() == "hello from the task\n"


def test_publish_message_can_be_silenced_and_feeds_the_scheduler_status():
    task = _Messenger(n=2)
    seen = []
    task.set_status_message = seen.append
    task.publish_message("step 1", stdout=None)
    task.publish_message("step 2", stdout=False)
    assert seen == ["step 1", "step 1\nstep 2"]


def test_req_passes_common_parameters_and_kwargs_override():
    class Up(law.Task):
        n = luigi.IntParameter()
        m = luigi.IntParameter(default=0)

    class Down(law.Task):
        n = luigi.IntParameter()

    down = Down(n=4)
    assert Up.req(down).n == 4
    assert Up.req(down, n=7, m=1).n == 7


def test_exclusions_add_up_over_base_classes_and_include_params_takes_names_back():
    class Left(law.Task):
        exclude_params_req = {"a"}

    class Right(law.Task):
        exclude_params_req = {"b"}

    class Child(Left, Right):
        exclude_params_req = {"c"}

    class Grandchild(Child):
        include_params_req = {"a"}

    assert Child.exclude_params_req == {"a", "b", "c"}
    assert Grandchild.exclude_params_req == {"b", "c"}
    assert Left.exclude_params_req == {"a"}  # a base's own set is not changed


def test_a_parameter_excluded_by_a_base_is_not_passed_on_by_req():
    class Up(law.Task):
        n = luigi.IntParameter(default=0)
        m = luigi.IntParameter(default=0)

    class Base(law.Task):
        n = luigi.IntParameter(default=0)
        m = luigi.IntParameter(default=0)
        exclude_params_req_set = {"n"}

    class Down(Base):
        exclude_params_req_set = {"m"}  # law: adds to Base's, does not replace it

    up = Up.req(Down(n=3, m=4))
    assert (up.n, up.m) == (0, 0)
