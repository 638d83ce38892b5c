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
