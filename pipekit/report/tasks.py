"""
From a task to the files its run report reads: :func:`workflows_of_tree` walks the dependency
tree of a task (workflow-level requirements; a required branch stands for its workflow) and
returns, for every workflow in it, the ledgers its workflow types keep (a workflow run locally
once and on Slurm later has two). :func:`output_records` gathers provenance for the last section.
Completeness is not checked and no batch system is asked.
"""

from __future__ import annotations

import os
from collections import deque
from typing import Any

import luigi

from pipekit.errors import PipekitError

__all__ = ["workflows_of_tree", "ledger_paths", "output_records"]


def ledger_paths(task: Any) -> list[str]:
    """The existing ledgers of the workflow *task*, one per workflow type that kept one."""
    paths = []
    for cls in task.workflow_classes():
        try:
            path = cls.workflow_proxy_cls(task).ledger_path()
        except (PipekitError, OSError):
            continue  # e.g. a remote type whose outputs are not local files: no ledger there
        if path and os.path.exists(path) and path not in paths:
            paths.append(path)
    return paths


def workflows_of_tree(task: Any, max_depth: int = -1) -> list[tuple[Any, list[str]]]:
    """``[(workflow task, ledger paths)]`` for *task* and its requirements down to *max_depth*."""
    from pipekit.workflow.base import BaseWorkflow

    seen: set[str] = set()
    found: list[tuple[Any, list[str]]] = []
    queue: deque[tuple[Any, int]] = deque([(task, 0)])
    while queue:
        t, depth = queue.popleft()
        if isinstance(t, BaseWorkflow) and t.is_branch():
            t = t.as_workflow()
        if t.task_id in seen:
            continue
        seen.add(t.task_id)
        if isinstance(t, BaseWorkflow):
            found.append((t, ledger_paths(t)))
        if 0 <= max_depth <= depth:
            continue
        try:
            reqs = luigi.task.flatten(t.requires())
        except Exception:  # the report shows what it can; run --print-deps to see the error
            continue
        queue.extend((r, depth + 1) for r in reqs)
    return found


def output_records(task: Any, reader: Any, limit: int = 50, checker: Any = None) -> Any:
    """
    Provenance of up to *limit* outputs of the workflow *task* (an ``OutputRecords``), each
    with its verdict (current, outdated and why) when a *checker* is given.
    """
    from pipekit.report.html import OutputRecords
    from pipekit.report.provenance import provenance_of, verdict_text
    from pipekit.task.base import flatten_outputs

    branches = list(task.branch_map)
    group = OutputRecords(label=f"{task.get_task_family()}", n_outputs=0)
    per_branch = 0
    for b in branches:  # only as many branches as the shown outputs need
        outs = flatten_outputs(task.branch_task(b).output())
        per_branch = max(per_branch, len(outs))
        for target in outs[:limit - len(group.rows)]:
            path = str(getattr(target, "abspath", None) or getattr(target, "path", target))
            record = provenance_of(reader, target)
            if record is not None and checker is not None:
                status = verdict_text(checker, target)
                if status:
                    record = {"status": status, **record}
            group.rows.append((b, path, record))
        if len(group.rows) >= limit:
            break
    group.n_outputs = per_branch * len(branches)  # the outputs of a branch are alike
    return group
