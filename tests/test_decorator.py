"""
law's run-method decorators (pipekit.decorator), on tasks run by luigi in this process: what
ends up in log files, which outputs exist after a failure, and how often set-up code runs for
a ``run()`` that yields dynamic requirements.
"""

from __future__ import annotations

import logging
import time

import luigi
import pytest

import pipekit as law
from pipekit import decorator


def build(*tasks) -> bool:
    return luigi.build(list(tasks), local_scheduler=True, no_lock=True)


class Failing(Exception):
    pass


def test_log_copies_printed_output_and_the_traceback_to_the_log_file(tmp_path, capsys):
    log_file = tmp_path / "logs" / "task.log"

    class LoggedTask(law.Task):
        default_log_file = str(log_file)
        fail = luigi.BoolParameter()

        def output(self):
            return law.LocalFileTarget(tmp_path / f"out_{self.fail}.txt")

        @decorator.log
        def run(self):
            print("processing 12 files")
            if self.fail:
                raise Failing("file 7 is corrupt")
            self.output().dump("ok", formatter="text")

    assert build(LoggedTask(fail=False))
    assert not build(LoggedTask(fail=True))
    text = log_file.read_text()
    assert text.count("processing 12 files") == 2
    assert "Failing: file 7 is corrupt" in text and "Traceback" in text
    assert "processing 12 files" in capsys.readouterr().out  # still on the terminal


def test_log_file_parameter_dash_means_no_log_file(tmp_path):
    class DashLog(law.Task):
        log_file = luigi.Parameter(default="-")
        default_log_file = str(tmp_path / "never.log")

        def output(self):
            return law.LocalFileTarget(tmp_path / "dash.txt")

        @decorator.log
        def run(self):
            print("hi")
            self.output().dump("ok", formatter="text")

    assert build(DashLog())
    assert not (tmp_path / "never.log").exists()


def _two_outputs(tmp_path, skip=None):
    class TwoOutputs(law.Task):
        def output(self):
            return {
                "a": law.LocalFileTarget(tmp_path / "a.txt"),
                "b": law.LocalFileTarget(tmp_path / "b.txt"),
            }

        @decorator.safe_output(skip=skip)
        def run(self):
            self.output()["a"].dump("first half", formatter="text")
            raise Failing("died before writing b")

    return TwoOutputs()


def test_safe_output_removes_outputs_written_before_a_failure(tmp_path):
    assert not build(_two_outputs(tmp_path))
    assert not (tmp_path / "a.txt").exists()


def test_safe_output_keeps_outputs_for_skipped_errors(tmp_path):
    assert not build(_two_outputs(tmp_path, skip=Failing))
    assert (tmp_path / "a.txt").read_text() == "first half"


def test_delay_waits_before_run(tmp_path):
    class Delayed(law.Task):
        def output(self):
            return law.LocalFileTarget(tmp_path / "delayed.txt")

        @decorator.delay(t=0.3)
        def run(self):
            self.output().dump(str(time.time()), formatter="text")

    t0 = time.time()
    assert build(Delayed())
    assert float((tmp_path / "delayed.txt").read_text()) - t0 >= 0.3


def test_timeit_logs_the_runtime_through_the_task_logger(tmp_path):
    records: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: records.append(record.getMessage())  # type: ignore[method-assign]
    lg = logging.getLogger("pipekit.task.Timed")
    lg.addHandler(handler)
    lg.setLevel(logging.INFO)

    class Timed(law.Task):
        def output(self):
            return law.LocalFileTarget(tmp_path / "timed.txt")

        @decorator.timeit
        def run(self):
            time.sleep(0.05)
            self.output().dump("ok", formatter="text")

    try:
        assert build(Timed())
    finally:
        lg.removeHandler(handler)
    assert len(records) == 1 and records[0].startswith("runtime: ")


def test_localize_writes_outputs_in_place_only_when_run_succeeds(tmp_path):
    src = law.LocalFileTarget(tmp_path / "in.txt")
    src.dump("input data", formatter="text")
    seen = {}

    class Source(law.ExternalTask):
        def output(self):
            return src

    class Localized(law.Task):
        fail = luigi.BoolParameter()

        def requires(self):
            return Source()

        def output(self):
            return law.LocalFileTarget(tmp_path / "out" / f"result_{self.fail}.txt")

        @decorator.localize
        def run(self):
            seen["output"] = self.output().path
            seen["final"] = self.output_unlocalized().path
            with open(self.output().path, "w") as f:
                f.write(open(self.input().path).read().upper())
            if self.fail:
                raise Failing("after writing")

    assert build(Localized(fail=False))
    assert seen["output"] != seen["final"]
    assert (tmp_path / "out" / "result_False.txt").read_text() == "INPUT DATA"
    assert not build(Localized(fail=True))
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["result_False.txt"]


def test_generator_run_sets_up_once_and_cleans_up_once(tmp_path):
    calls = {"before": 0, "after": 0, "run": 0}

    @decorator.factory(accept_generator=True)
    def counted(fn, opts, task, *args, **kwargs):
        def before():
            calls["before"] += 1

        def after(state):
            calls["after"] += 1

        return before, (lambda state: fn(task, *args, **kwargs)), after

    class Part(law.Task):
        i = luigi.IntParameter()

        def output(self):
            return law.LocalFileTarget(tmp_path / f"part{self.i}.txt")

        def run(self):
            self.output().dump(str(self.i), formatter="text")

    class Dynamic(law.Task):
        def output(self):
            return law.LocalFileTarget(tmp_path / "dynamic.txt")

        @counted
        @decorator.safe_output
        def run(self):
            calls["run"] += 1
            parts = yield [Part(i=i) for i in range(3)]
            more = yield Part(i=3)
            texts = [p.load(formatter="text") for p in parts] + [more.load(formatter="text")]
            self.output().dump("".join(texts), formatter="text")

    assert build(Dynamic())
    assert (tmp_path / "dynamic.txt").read_text() == "0123"
    assert calls["run"] == 3  # luigi started run() again after each yield with missing tasks
    assert calls["before"] == 1 and calls["after"] == 1


def test_skip_decorators_calls_the_undecorated_run(tmp_path):
    class Slow(law.Task):
        def output(self):
            return law.LocalFileTarget(tmp_path / "slow.txt")

        @decorator.delay(t=30)
        def run(self):
            self.output().dump("fast", formatter="text")

    t0 = time.time()
    Slow().run(skip_decorators=True)
    assert time.time() - t0 < 5 and (tmp_path / "slow.txt").read_text() == "fast"


def test_a_decorator_without_generator_support_refuses_a_yielding_run():
    with pytest.raises(TypeError, match="cannot decorate .*run: it yields"):

        class YieldingLogged(law.Task):
            @decorator.log
            def run(self):
                yield []


def test_require_sandbox_comes_from_the_sandbox_package():
    try:
        from pipekit.sandbox.base import require_sandbox
    except ImportError:
        with pytest.raises(AttributeError, match="comes from pipekit.sandbox"):
            decorator.require_sandbox  # noqa: B018
        assert not hasattr(decorator, "require_sandbox")
    else:
        assert decorator.require_sandbox is require_sandbox
