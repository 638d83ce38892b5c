"""
:class:`LocalWorkflow`: run the missing branches of a workflow on this machine.

law hands every branch to luigi as a task of its own, which costs about 14 ms per branch in
scheduler round trips, repeated ``complete()`` calls and instantiation. Here the workflow is one
luigi task: its ``run()`` lists the output directories once to find the missing branches, hands
any incomplete branch requirements to luigi as dynamic dependencies (whole upstream workflows, not
single branches), and then runs the missing branches itself, in this process or in ``--workers``
forked processes. A failing branch does not stop the others; the workflow fails at the end,
naming each failed branch and its error, unless ``--tolerance`` allows it.
"""

from __future__ import annotations

import inspect
import multiprocessing
import os
import sys
import time
import traceback
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any, Iterator

import luigi

from pipekit.errors import WorkflowError
from pipekit.ranges import join_ranges
from pipekit.workflow.base import BaseWorkflow, BaseWorkflowProxy

__all__ = ["LocalWorkflow", "LocalWorkflowProxy", "run_branches"]

# the workflow whose branches forked worker processes run (set before the pool forks)
_forked_workflow: BaseWorkflow | None = None


def configured_workers() -> int:
    """The worker count of this run (``--workers``), as recorded in luigi's config."""
    import luigi.configuration

    try:
        return max(1, luigi.configuration.get_config().getint("core", "workers", 1))
    except ValueError:
        return 1


def _branch_run_impl(task: BaseWorkflow) -> Any:
    run = type(task).run
    return getattr(run, "_pipekit_branch_impl", run)


def _format_error(exc: BaseException) -> tuple[str, str]:
    skip = (os.path.dirname(luigi.__file__), os.path.dirname(__file__))
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename.startswith(skip):
        tb = tb.tb_next
    return f"{type(exc).__name__}: {exc}", "".join(traceback.format_exception(type(exc), exc, tb))


def _run_one(task: BaseWorkflow) -> None:
    result = task.run()
    if inspect.isgenerator(result):  # dynamic dependencies are complete by now: drain
        for _ in result:
            pass


def _run_forked(branch: int) -> tuple[int, str | None, str | None]:
    assert _forked_workflow is not None
    try:
        _run_one(_forked_workflow.branch_task(branch))
    except Exception as e:  # reported to the parent as text: exceptions need not pickle
        msg, tb = _format_error(e)
        return branch, msg, tb
    return branch, None, None


class _Progress:
    """Periodic progress lines and the scheduler's progress bar for one workflow run."""

    def __init__(self, task: BaseWorkflow, total: int, interval: float = 2.0):
        self.task = task
        self.total = total
        self.interval = interval
        self.done = 0
        self.failed = 0
        self.t0 = time.time()
        self.last = self.t0

    def step(self, failed: bool) -> None:
        self.done += 1
        self.failed += int(failed)
        now = time.time()
        if now - self.last >= self.interval:
            self.last = now
            self.report()

    def report(self) -> None:
        rate = self.done / max(1e-9, time.time() - self.t0)
        sys.stdout.write(
            f"{self.task.get_task_family()}: {self.done}/{self.total} branches run, "
            f"{self.failed} failed ({rate:.0f}/s)\n"
        )
        sys.stdout.flush()
        if hasattr(self.task, "publish_progress"):
            self.task.publish_progress(100.0 * self.done / max(1, self.total))


def run_branches(task: BaseWorkflow, branches: list[int], workers: int) -> dict[int, tuple[str, str]]:
    """Run *branches* of *task*; returns ``{branch: (error, traceback)}`` for those that failed."""
    failures: dict[int, tuple[str, str]] = {}
    progress = _Progress(task, len(branches))
    if workers <= 1 or len(branches) <= 1:
        for b in branches:
            try:
                _run_one(task.branch_task(b))
            except Exception as e:
                failures[b] = _format_error(e)
            progress.step(b in failures)
        return failures

    global _forked_workflow
    _forked_workflow = task
    sys.stdout.flush()
    sys.stderr.flush()
    ctx = multiprocessing.get_context("fork")
    try:
        with ProcessPoolExecutor(max_workers=min(workers, len(branches)), mp_context=ctx) as pool:
            pending = {pool.submit(_run_forked, b) for b in branches}
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in finished:
                    b, msg, tb = fut.result()
                    if msg is not None:
                        failures[b] = (msg, tb or "")
                    progress.step(msg is not None)
    finally:
        _forked_workflow = None
    return failures


class LocalWorkflowProxy(BaseWorkflowProxy):
    """Runs the missing branches of the workflow locally."""

    workflow_type = "local"

    def _incomplete_requirements(self, tasks: dict[int, BaseWorkflow]) -> list[luigi.Task]:
        seen: dict[str, luigi.Task] = {}
        for t in tasks.values():
            for req in luigi.task.flatten(t.requires()):
                seen.setdefault(req.task_id, req)
        return [r for r in seen.values() if not r.complete()]

    @staticmethod
    def _coalesce(reqs: list[luigi.Task]) -> list[luigi.Task]:
        """Replace many branches of one upstream workflow by that workflow with ``--branches``."""
        groups: dict[str, tuple[BaseWorkflow, list[int]]] = {}
        out: list[luigi.Task] = []
        for r in reqs:
            if isinstance(r, BaseWorkflow) and r.is_branch():
                wf = r.as_workflow()
                groups.setdefault(wf.task_id, (wf, []))[1].append(r.branch)
            else:
                out.append(r)
        for wf, branches in groups.values():
            if len(branches) == 1:
                out.append(wf.req_branch(branches[0]))
            else:
                out.append(wf.req(wf, branches=_as_ranges(branches)))
        return out

    def run(self) -> Iterator[Any]:
        task = self.task
        if task.has_placeholder_branch_map():
            task.reset_branch_map()  # a dynamic condition may be met now
        missing = task.missing_branches()
        if not missing:
            return
        tasks = {b: task.branch_task(b) for b in missing}
        incomplete = self._incomplete_requirements(tasks)
        if incomplete:
            yield self._coalesce(incomplete)

        # branches whose run() yields dynamic dependencies are left to luigi, one task each
        by_luigi = [b for b, t in tasks.items() if inspect.isgeneratorfunction(_branch_run_impl(t))]
        in_process = [b for b in missing if b not in set(by_luigi)]
        n_total = len(task.branch_map)
        workers = configured_workers()
        sys.stdout.write(
            f"{task.get_task_family()}: running {len(in_process)} of {n_total} branches"
            + (f" with {workers} workers" if workers > 1 and len(in_process) > 1 else "") + "\n"
        )
        sys.stdout.flush()
        failures = run_branches(task, in_process, workers)
        if by_luigi:
            yield [tasks[b] for b in by_luigi]

        # a branch that returned without writing its outputs failed, too
        task.__dict__.pop("_wf_output", None)
        still_missing = set(task.missing_branches())
        for b in in_process:
            if b in still_missing and b not in failures:
                failures[b] = ("run() finished but its outputs do not exist", "")
        self._judge(failures, n_total)

    def _judge(self, failures: dict[int, tuple[str, str]], n_total: int) -> None:
        task = self.task
        if not failures:
            return
        allowed = task.allowed_failures(n_total)
        family = task.get_task_family()
        lines = [f"branch {b}: {msg}" for b, (msg, _) in sorted(failures.items())]
        if len(lines) > 20:
            lines = lines[:10] + [f"... {len(lines) - 20} more ..."] + lines[-10:]
        summary = (
            f"{len(failures)} of {n_total} branches of {family} failed "
            f"({join_ranges(failures)}); tolerance allows {allowed:g}"
        )
        if len(failures) <= allowed:
            sys.stderr.write("WARNING: " + summary + "\n  " + "\n  ".join(lines) + "\n")
            return
        first_tb = next((tb for _, (_, tb) in sorted(failures.items()) if tb), "")
        kept = n_total - len(failures)
        raise WorkflowError(
            summary + "\n  " + "\n  ".join(lines)
            + f"\noutputs of the {kept} other branches are kept; run again to retry the failed ones"
            + (f"\nfirst traceback:\n{first_tb.rstrip()}" if first_tb else "")
        )


def _as_ranges(branches: list[int]) -> tuple:
    """Branch numbers as the tuple of ranges BranchesParameter holds."""
    vals = sorted(set(branches))
    out: list[tuple] = []
    i = 0
    while i < len(vals):
        j = i
        while j + 1 < len(vals) and vals[j + 1] == vals[j] + 1:
            j += 1
        out.append((vals[i],) if i == j else (vals[i], vals[j] + 1))
        i = j + 1
    return tuple(out)


class LocalWorkflow(BaseWorkflow):
    """Workflow mixin: ``--workflow local`` runs the branches on this machine."""

    exclude_index = True
    workflow_proxy_cls = LocalWorkflowProxy
