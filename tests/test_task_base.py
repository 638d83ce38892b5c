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


class Typed(law.Task):
    n = luigi.IntParameter(default=1)
    x = luigi.FloatParameter(default=0.5)
    flag = luigi.BoolParameter(default=False)
    names = law.CSVParameter(default=())
    label = luigi.Parameter(default="a")


def test_strings_given_in_python_are_parsed_as_law_does():
    t = Typed(n="5", x="2.5", flag="true", label="7")
    assert (t.n, t.x, t.flag, t.label) == (5, 2.5, True, "7")
    assert Typed(n="5") == Typed(n=5)  # the same task, the same id


def test_a_string_a_parameter_cannot_read_names_parameter_and_task():
    import pytest

    from pipekit.errors import ParameterError

    with pytest.raises(ParameterError, match=r"invalid value 'five' for parameter 'n' of Typed \(IntParameter"):
        Typed(n="five")


def test_modify_param_values_hook_changes_values_before_the_task_exists():
    class Doubling(Typed):
        @classmethod
        def modify_param_values(cls, params):
            params["n"] = params["n"] * 2
            return params

    assert Doubling(n=3).n == 6


def test_cli_args_are_an_ordered_dict_as_in_law():
    args = Typed(n=3, names=("a", "b")).cli_args(exclude=["fl*"])
    assert list(args.items()) == [("--n", "3"), ("--x", "0.5"), ("--names", "a,b"), ("--label", "a")]


def test_publish_step_prints_the_message_and_done_with_the_time(capsys):
    import pytest

    t = Typed()
    with t.publish_step("merging ..."):
        pass
    with pytest.raises(ValueError):
        with t.publish_step("fitting ...", fail_message="fit failed"):
            raise ValueError("no convergence")
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "merging ..." and lines[1].startswith("done (took ")
    assert lines[2] == "fitting ..." and lines[3].startswith("fit failed (took ")


def test_iter_progress_publishes_progress_per_item():
    t = Typed()
    seen = []
    t.set_progress_percentage = seen.append
    assert list(t.iter_progress(range(4), 4)) == [0, 1, 2, 3]
    assert seen == [25, 50, 75, 100]


def test_optional_outputs_do_not_count_for_completeness(tmp_path):
    class WithLog(law.Task):
        def output(self):
            return {"data": law.LocalFileTarget(str(tmp_path / "d.txt")),
                    "log": law.LocalFileTarget(str(tmp_path / "l.txt"), optional=True)}

    (tmp_path / "d.txt").write_text("x")
    assert WithLog().complete()
