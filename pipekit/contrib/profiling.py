"""
law's ``profiling`` package: :func:`profile_by_line`, a run-method decorator printing a
line-by-line profile (``line_profiler``, ``pip install line_profiler``) when the method ends,
also when it fails; and pipekit's :func:`profile_by_function`, the same with the standard
library's cProfile (no extra package), sorted by cumulative time::

    class Heavy(law.Task):
        @law.profiling.profile_by_function(limit=15)
        def run(self):
            ...

Both accept run methods that yield dynamic requirements.
"""

from __future__ import annotations

import inspect
import io
import sys
from typing import Any, Callable

from pipekit.decorator import factory

__all__ = ["profile_by_line", "profile_by_function"]


def _frame(fn: Callable, task: Any, title: str, text: str | None, body: str) -> None:
    from pipekit.terminal import colored

    rule = colored("-" * 100, "light_blue")
    head = f"{title} of method {colored(fn.__name__, style='bright')} of task {task!r}"
    out = [rule, head] + ([text] if text else []) + ["", body.rstrip(), rule]
    sys.stdout.write("\n".join(out) + "\n")
    sys.stdout.flush()


@factory(output_unit=None, stripzeros=False, accept_generator=True)
def profile_by_line(fn: Callable, opts: dict, task: Any, *args: Any, **kwargs: Any) -> Any:
    """
    profile_by_line(output_unit=None, stripzeros=False): print the time spent in each line of
    the decorated method after it ran (*output_unit*, *stripzeros*: as in
    ``LineProfiler.print_stats``). Needs line_profiler.
    """
    from pipekit.target.formatter import require_module

    line_profiler = require_module("line_profiler", "profiling", "@profile_by_line",
                                   "install it with: pip install line_profiler")

    def report(profiler: Any, text: str | None = None) -> None:
        buf = io.StringIO()
        profiler.print_stats(stream=buf, output_unit=opts["output_unit"],
                             stripzeros=opts["stripzeros"])
        _frame(fn, task, "line profiling", text, buf.getvalue())

    def on_error(error: BaseException, profiler: Any) -> bool:
        report(profiler, f"(up to exception of type '{type(error).__name__}')")
        return False

    return (line_profiler.LineProfiler, lambda profiler: profiler(fn)(task, *args, **kwargs),
            report, on_error)


def profiled_steps(profiler: Any, gen: Any) -> Any:
    """Run generator *gen* step by step with *profiler* on, off while luigi handles a yield."""
    sent = None
    while True:
        profiler.enable()
        try:
            item = gen.send(sent)
        except StopIteration as stop:
            return stop.value
        finally:
            profiler.disable()
        sent = yield item


@factory(sort="cumulative", limit=30, accept_generator=True)
def profile_by_function(fn: Callable, opts: dict, task: Any, *args: Any, **kwargs: Any) -> Any:
    """
    profile_by_function(sort="cumulative", limit=30): print cProfile's statistics of the
    decorated method after it ran, the *limit* most expensive functions by *sort*.
    """
    import cProfile
    import pstats

    def report(profiler: cProfile.Profile, text: str | None = None) -> None:
        buf = io.StringIO()
        pstats.Stats(profiler, stream=buf).sort_stats(opts["sort"]).print_stats(opts["limit"])
        _frame(fn, task, "function profiling", text, buf.getvalue())

    def call(profiler: cProfile.Profile) -> Any:
        if not inspect.isgeneratorfunction(fn):
            return profiler.runcall(fn, task, *args, **kwargs)
        return profiled_steps(profiler, fn(task, *args, **kwargs))

    def on_error(error: BaseException, profiler: cProfile.Profile) -> bool:
        report(profiler, f"(up to exception of type '{type(error).__name__}')")
        return False

    return cProfile.Profile, call, report, on_error
