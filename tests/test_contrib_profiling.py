"""law.profiling: profile_by_line (line_profiler) and profile_by_function (cProfile)."""

from __future__ import annotations

import importlib.util

import pytest

import pipekit as law


def busy(n):
    return sum(i * i for i in range(n))


def test_profile_by_function_prints_the_expensive_functions(capsys):
    law.contrib.load("profiling")

    class Heavy(law.Task):
        @law.profiling.profile_by_function(limit=5)
        def run(self):
            busy(20000)

    Heavy().run()
    out = capsys.readouterr().out
    assert "function profiling of method" in out and "busy" in out and "cumulative" in out


def test_profile_by_function_reports_up_to_the_exception_and_reraises(capsys):
    law.contrib.load("profiling")

    class Broken(law.Task):
        @law.profiling.profile_by_function
        def run(self):
            busy(100)
            raise ValueError("bad")

    with pytest.raises(ValueError):
        Broken().run()
    assert "(up to exception of type 'ValueError')" in capsys.readouterr().out


def test_profile_by_line_shows_each_line_with_line_profiler(capsys):
    if importlib.util.find_spec("line_profiler") is None:
        pytest.skip("line_profiler is not installed")
    law.contrib.load("profiling")

    class Heavy(law.Task):
        @law.profiling.profile_by_line
        def run(self):
            total = busy(5000)
            return total

    Heavy().run()
    out = capsys.readouterr().out
    assert "line profiling of method" in out and "total = busy(5000)" in out
