"""
:class:`LocalWorkflow`: run the missing branches of a workflow on this machine.

law hands every branch to luigi as a task of its own, which costs about 14 ms per branch in
scheduler round trips, repeated ``complete()`` calls and instantiation. Here the workflow is one
luigi task. Its ``run()``

1. lists the output directories once to find the missing branches,
2. hands the incomplete requirements of those branches to luigi as dynamic dependencies, whole
   upstream workflows with ``--branches`` instead of single branches,
3. runs the missing branches itself, in this process or in ``--workers`` forked processes
   (:mod:`pipekit.workflow.forkpool`); a branch whose ``run()`` yields dynamic dependencies is
   driven here as well, and requirements it yields that do not exist yet go to luigi the same
   way as in step 2,
4. fails at the end, naming each failed branch and its error, unless ``--tolerance`` allows the
   failures or the outputs present already satisfy ``--acceptance``. A failing branch never
   stops the others, and their outputs are kept.
"""

from __future__ import annotations

import inspect
import logging
import time
import traceback
from typing import Any, Callable, Iterator

import luigi
import luigi.task_register

from pipekit.errors import WorkflowError
from pipekit.provenance.hooks import branch_buffer, branch_probe
from pipekit.ranges import join_ranges
from pipekit.workflow.base import BaseWorkflow, BaseWorkflowProxy
from pipekit.workflow.forkpool import ForkPool, die_with_parent_if_task_process
from pipekit.workflow.local_ledger import LocalLedger, local_ledger_path
from pipekit.workflow.meter import BranchMeter
from pipekit.workflow.parameter import branches_to_ranges
from pipekit.workflow.slots import give_back_slot, hold_slot

__all__ = ["LocalWorkflow", "LocalWorkflowProxy", "run_branches", "configured_workers",
           "measured_attempt", "BranchResult"]

logger = logging.getLogger("pipekit.workflow.local")

#: a requirement as luigi passes it between processes: (module, family, string parameters)
TaskSpec = tuple[str, str, dict[str, str]]
#: ``on_result(branch, kind, payload, usage)`` of :func:`run_branches`: *kind* is "ok",
#: "failed" (payload: (message, traceback)) or "waiting"; *usage* is the branch's
#: :class:`~pipekit.workflow.meter.BranchMeter` measurement (None when its process died)
BranchResult = Callable[[int, str, Any, "dict[str, Any] | None"], None]


def configured_workers() -> int:
    """
    The worker count of this run: ``pipekit run --workers N`` writes it to luigi's ``[core]
    workers``, which is also where ``[luigi_core] workers`` in law.cfg ends up.
    """
    import luigi.configuration

    try:
        return max(1, luigi.configuration.get_config().getint("core", "workers", 1))
    except ValueError:
        return 1


# -- running one branch ---------------------------------------------------------------------------


class NeedsDependencies(Exception):
    """A branch's ``run()`` yielded requirements that do not exist yet."""

    def __init__(self, specs: list[TaskSpec]):
        super().__init__(f"waits for {len(specs)} dynamic dependencies")
        self.specs = specs


def _drive(gen: Iterator[Any]) -> None:
    """Run a ``run()`` generator the way luigi does, as long as what it yields is complete."""
    send = None
    while True:
        try:
            reqs = gen.send(send)
        except StopIteration:
            return
        if isinstance(reqs, luigi.DynamicRequirements):
            flat = reqs.flat_requirements
            done = reqs.complete(lambda t: t.complete())
            paths = reqs.paths
        else:
            flat = luigi.task.flatten(reqs)
            done = all(t.complete() for t in flat)
            paths = luigi.task.getpaths(reqs)
        if not done:
            gen.close()
            raise NeedsDependencies(
                [(t.task_module, t.task_family, t.to_str_params()) for t in flat]
            )
        send = paths


def run_branch(task: BaseWorkflow) -> None:
    """Run one branch task, including a ``run()`` that yields (complete) dynamic dependencies."""
    result = task.run()
    if inspect.isgenerator(result):
        _drive(result)


def _format_error(exc: BaseException) -> tuple[str, str]:
    import os

    skip = (os.path.dirname(luigi.__file__), os.path.dirname(__file__))
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename.startswith(skip):
        tb = tb.tb_next
    return f"{type(exc).__name__}: {exc}", "".join(traceback.format_exception(type(exc), exc, tb))


def attempt_branch(task: BaseWorkflow, branch: int) -> tuple[str, Any]:
    """
    Run *branch*; returns ``("ok", None)``, ``("failed", (message, traceback))`` or
    ``("waiting", [task specs])``; with provenance tracked, "ok" carries the branch's record
    payload (:mod:`pipekit.provenance.hooks`). Only interrupts propagate: a branch calling
    ``sys.exit()`` fails, it does not end the run.
    """
    branch_task = task.branch_task(branch)
    probe = branch_probe(task, branch, branch_task)  # provenance: inputs, start, when tracked
    try:
        run_branch(branch_task)
    except NeedsDependencies as e:
        return "waiting", e.specs
    except (Exception, SystemExit) as e:
        return "failed", _format_error(e)
    return "ok", probe.finish() if probe else None


def measured_attempt(task: BaseWorkflow, branch: int) -> tuple[str, Any, dict[str, Any]]:
    """:func:`attempt_branch` plus what the branch cost (wall, CPU, peak RSS; see ``meter``)."""
    meter = BranchMeter()
    kind, payload = attempt_branch(task, branch)
    return kind, payload, meter.stop()


# -- running many branches ------------------------------------------------------------------------


def _count(n: int, what: str) -> str:
    return f"{n} {what}" if n == 1 else f"{n} {what}es" if what.endswith("ch") else f"{n} {what}s"


class _Progress:
    """A progress line every few seconds, the scheduler's progress bar and a closing line."""

    def __init__(self, task: BaseWorkflow, total: int, interval: float = 5.0):
        self.family = task.get_task_family()
        self.task = task
        self.total = total
        self.interval = interval
        self.counts = {"ok": 0, "failed": 0, "waiting": 0}
        self.t0 = self.last = time.monotonic()

    def step(self, kind: str) -> None:
        self.counts[kind] += 1
        done = sum(self.counts.values())
        now = time.monotonic()
        if now - self.last >= self.interval and done < self.total:
            self.last = now
            rate = done / (now - self.t0)
            logger.info(
                "%s: %d/%d branches run, %d failed, %.1f/s, about %.0f s left",
                self.family,
                done,
                self.total,
                self.counts["failed"],
                rate,
                (self.total - done) / rate,
            )
            self.task.publish_progress(100.0 * done / max(1, self.total))

    def finish(self) -> None:
        ran = self.counts["ok"] + self.counts["failed"]
        if not ran:
            return
        waiting = self.counts["waiting"]
        logger.info(
            "%s: %s run in %.2f s, %d failed%s",
            self.family,
            _count(ran, "branch"),
            time.monotonic() - self.t0,
            self.counts["failed"],
            f", {waiting} waiting for dynamic dependencies" if waiting else "",
        )
        self.task.publish_progress(100.0 * ran / max(1, self.total))


def run_branches(
    task: BaseWorkflow,
    branches: list[int],
    workers: int,
    waiting: dict[int, list[TaskSpec]] | None = None,
    on_result: BranchResult | None = None,
) -> dict[int, tuple[str, str]]:
    """
    Run *branches* of *task* in this process (*workers* <= 1) or in *workers* forked processes.
    Returns ``{branch: (error, traceback)}`` for the branches that failed. A branch that yields
    requirements that do not exist yet is put into *waiting* (``{branch: task specs}``) when
    given, and counts as failed otherwise. *on_result* hears of every branch as it ends, with
    its measurement (:data:`BranchResult`).
    """
    failures: dict[int, tuple[str, str]] = {}
    progress = _Progress(task, len(branches))
    records = branch_buffer(task)  # provenance records, written per output directory

    def record(branch: int, kind: str, payload: Any, usage: dict[str, Any] | None = None) -> None:
        if kind == "waiting" and waiting is None:
            names = ", ".join(f"{family}({params})" for _, family, params in payload[:3])
            kind, payload = (
                "failed",
                (f"its run() yielded requirements that do not exist: {names}", ""),
            )
        if kind == "waiting":
            waiting[branch] = payload
        elif kind == "failed":
            failures[branch] = payload
        elif records is not None:
            records.add_branch(task, branch, payload)
        if on_result is not None:
            on_result(branch, kind, payload, usage)
        progress.step(kind)

    try:
        if workers <= 1 or len(branches) <= 1:
            with hold_slot():
                for b in branches:
                    record(b, *measured_attempt(task, b))
        else:
            # this process only waits for its workers: its slot of the run is theirs meanwhile
            give_back_slot()
            size = min(workers, len(branches))
            with ForkPool(lambda b: measured_attempt(task, b), size, hold=hold_slot) as pool:
                for b, outcome in pool.map_unordered(branches):
                    record(b, *outcome)
    finally:
        if records is not None:
            records.flush()  # also when interrupted: the branches that finished keep theirs
    progress.finish()
    return failures


# -- the workflow type ----------------------------------------------------------------------------


class LocalWorkflowProxy(BaseWorkflowProxy):
    """Runs the missing branches of the workflow locally."""

    workflow_type = "local"

    def requires(self) -> Any:
        reqs = super().requires()
        local = self.task.local_workflow_requires()
        if not local:
            return reqs
        if isinstance(reqs, dict) and isinstance(local, dict):
            return {**reqs, **local}
        return [reqs, local]

    @staticmethod
    def _coalesce(reqs: list[luigi.Task]) -> list[luigi.Task]:
        """Replace many branches of one upstream workflow by that workflow with ``--branches``."""
        groups: dict[str, tuple[BaseWorkflow, list[int]]] = {}
        out: dict[str, luigi.Task] = {}
        for r in reqs:
            if isinstance(r, BaseWorkflow) and r.is_branch():
                wf = r.as_workflow()
                groups.setdefault(wf.task_id, (wf, []))[1].append(r.branch)
            else:
                out.setdefault(r.task_id, r)
        for wf, branches in groups.values():
            task = (
                wf.req_branch(branches[0])
                if len(branches) == 1
                else wf.req(wf, branches=branches_to_ranges(branches))
            )
            out.setdefault(task.task_id, task)
        return list(out.values())

    def _incomplete_requirements(self, branches: list[int]) -> list[luigi.Task]:
        # coalesce first: an upstream workflow checks its branches with one listing per directory
        reqs = [
            r for b in branches for r in luigi.task.flatten(self.task.branch_task(b).requires())
        ]
        return [r for r in self._coalesce(reqs) if not r.complete()]

    @staticmethod
    def _load(specs: list[TaskSpec]) -> list[luigi.Task]:
        return [luigi.task_register.load_task(m, f, p) for m, f, p in specs]

    def run(self) -> Iterator[Any]:
        task = self.task
        die_with_parent_if_task_process()
        if task.has_placeholder_branch_map():
            task.reset_branch_map()  # a dynamic condition may be met now
        family = task.get_task_family()
        missing = task.missing_branches()
        n_total = len(task.branch_map)
        if not missing:
            return
        incomplete = self._incomplete_requirements(missing)
        if incomplete:
            yield incomplete  # luigi runs them, then calls run() again from the start

        workers = configured_workers()
        logger.info(
            "%s: running %d of %s%s",
            family,
            len(missing),
            _count(n_total, "branch"),
            f" with {workers} workers" if workers > 1 and len(missing) > 1 else "",
        )
        failures: dict[int, tuple[str, str]] = {}
        todo = missing
        ledger = LocalLedger.open(self, missing, workers, present=n_total - len(missing))
        on_result = ledger.on_result if ledger else None
        interrupted = False
        try:
            yield from self._run_todo(todo, workers, failures, on_result)
            still_missing = set(task.missing_branches())
            for b in missing:
                if b in still_missing and b not in failures:
                    failures[b] = ("run() returned without error but its outputs do not exist", "")
                    if on_result is not None:
                        on_result(b, "failed", failures[b], None)
        except KeyboardInterrupt:
            interrupted = True
            raise
        finally:
            if ledger is not None:
                ledger.close(interrupted=interrupted)
        self._judge(failures, n_total)

    def ledger_path(self) -> str:
        """The local ledger of this workflow (:mod:`pipekit.workflow.local_ledger`)."""
        return local_ledger_path(self)

    def _run_todo(self, todo: list[int], workers: int, failures: dict[int, tuple[str, str]],
                  on_result: BranchResult | None) -> Iterator[Any]:
        """Run *todo*, yielding dynamic dependencies to luigi, until no branch waits."""
        task = self.task
        family = task.get_task_family()
        while todo:
            waiting: dict[int, list[TaskSpec]] = {}
            failures.update(run_branches(task, todo, workers, waiting, on_result=on_result))
            if waiting:
                deps = self._coalesce(self._load([s for specs in waiting.values() for s in specs]))
                shown = ", ".join(map(repr, deps[:3])) + (" ..." if len(deps) > 3 else "")
                logger.info(
                    "%s: %s wait for dynamic dependencies: %s",
                    family,
                    _count(len(waiting), "branch"),
                    shown,
                )
                # complete ones come straight back here; otherwise luigi runs them and calls
                # run() again, which then skips the branches that are done (failed ones retry)
                yield deps
            todo = sorted(waiting)

    def _judge(self, failures: dict[int, tuple[str, str]], n_total: int) -> None:
        task = self.task
        if not failures:
            return
        allowed = task.allowed_failures(n_total)
        coll = task.workflow_output()["collection"]
        present = coll.count()
        accepted = coll.exists(count=present)
        lines = [f"branch {b}: {msg}" for b, (msg, _) in sorted(failures.items())]
        if len(lines) > 20:
            lines = lines[:10] + [f"... {len(lines) - 20} more ..."] + lines[-10:]
        summary = (
            f"{len(failures)} of {n_total} branches of {task.get_task_family()} failed "
            f"({join_ranges(failures, max_ranges=8)}); tolerance allows {allowed:g}"
        )
        details = "\n  " + "\n  ".join(lines)
        if len(failures) <= allowed or accepted:
            note = (
                f"; acceptance {task.acceptance:g} is met ({present}/{n_total} present)"
                if accepted
                else (
                    f"\n  the workflow is not complete ({present}/{n_total} present, acceptance "
                    f"{task.acceptance:g}): tasks requiring it will not run; a lower --acceptance "
                    "accepts partial output"
                )
            )
            logger.warning("%s%s%s", summary, note, details)
            return
        first_tb = next((tb for _, (_, tb) in sorted(failures.items()) if tb), "")
        raise WorkflowError(
            summary
            + details
            + f"\noutputs of the {n_total - len(failures)} other branches are kept; run again to "
            "retry the failed ones"
            + (f"\nfirst traceback:\n{first_tb.rstrip()}" if first_tb else "")
        )


class LocalWorkflow(BaseWorkflow):
    """
    Workflow mixin: ``--workflow local`` runs the missing branches on this machine, in
    ``--workers`` processes. Hook: :meth:`local_workflow_requires` adds requirements only this
    workflow type has.
    """

    exclude_index = True
    workflow_proxy_cls = LocalWorkflowProxy

    def local_workflow_requires(self) -> Any:
        """Requirements of the workflow when it runs locally, besides ``workflow_requires()``."""
        return {}
