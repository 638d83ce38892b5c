"""
The interactive task options: ``--print-deps``, ``--print-status``, ``--print-output``,
``--remove-output`` and ``--fetch-output``. They walk the dependency tree to a depth and print
it (in law's tree layout), or remove / copy outputs.

Depth 0 is the task itself, 1 adds its direct requirements, -1 walks everything. A workflow
shows its output collection once (one listing per directory) with a summary of present and
missing branches, not one line per branch; a task class may add lines through
``extra_status_lines(target_depth)`` (remote workflows show their jobs there).

With provenance on (:mod:`pipekit.provenance`), ``--print-status`` adds to every output whether
it is current, outdated (and why) or unknown, and counts them for workflows;
``--print-output D,provenance`` prints each output's record; ``--remove-output D,outdated``
removes only outdated outputs, and ``--rerun-outdated`` (``-1,outdated,yes``) then runs the task.
"""

from __future__ import annotations

import os
import sys
from typing import Any, Iterator

import luigi

from pipekit.errors import UsageError
from pipekit.target.collection import TargetCollection, listing_snapshot
from pipekit.target.file import FileSystemTarget

__all__ = [
    "print_task_deps",
    "print_task_status",
    "print_task_output",
    "remove_task_output",
    "fetch_task_output",
    "walk_tree",
    "RERUN_OUTDATED",
]

#: what ``--rerun-outdated`` stands for: remove outdated outputs at any depth, then run
RERUN_OUTDATED = "-1,outdated,yes"


def _ints(spec: str, n: int, what: str) -> list[str]:
    parts = [p.strip() for p in str(spec).split(",")]
    if not parts[0].lstrip("-").isdigit():
        raise UsageError(f"{what} needs a depth as first value (e.g. 0, 1 or -1), got {spec!r}")
    return parts + [""] * (n - len(parts))


def walk_tree(task: Any, max_depth: int) -> Iterator[tuple[Any, int, str, bool]]:
    """Yield ``(task, depth, prefix, seen_before)`` in tree order with law-style prefixes."""
    seen: set[str] = set()

    def visit(t: Any, depth: int, prefix: str, last: bool) -> Iterator[tuple[Any, int, str, bool]]:
        again = t.task_id in seen
        seen.add(t.task_id)
        if depth == 0:
            line_prefix = ""
        else:
            line_prefix = prefix + ("└──" if last else "├──")
        yield t, depth, line_prefix, again
        if again or (0 <= max_depth <= depth):
            return
        deps = luigi.task.flatten(t.requires())
        child_prefix = prefix + ("   " if last or depth == 0 else "│  ")
        if depth == 0:
            child_prefix = ""
        for i, dep in enumerate(deps):
            yield from visit(dep, depth + 1, child_prefix, i == len(deps) - 1)

    yield from visit(task, 0, "", True)


def _leaves_with_keys(struct: Any, key: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(struct, dict):
        for k, v in struct.items():
            yield from _leaves_with_keys(v, f"{key}{k}: " if not key else f"{key}{k}.")
    elif isinstance(struct, (list, tuple)):
        for i, v in enumerate(struct):
            yield from _leaves_with_keys(v, f"{key}{i}: " if not key else f"{key}{i}.")
    elif struct is not None:
        yield key.rstrip(". ") + (": " if key else ""), struct


def _fmt_key(key: str) -> str:
    k = key.rstrip(": ")
    return f"{k}: " if k else ""


def _target_status_lines(target: Any, target_depth: int, verdicts: Any = None) -> list[str]:
    """Status lines of one output; *verdicts* (provenance): a Verdict for a single target, a
    ``{key: Verdict}`` for a collection."""
    if isinstance(target, TargetCollection):
        lines = [target.status_text()]
        if target_depth > 0:
            existing = set(target.existing_keys())
            for key, value in target.items():
                state = "existent" if key in existing else "absent"
                if verdicts and key in verdicts:
                    state += ", " + verdicts[key].text()
                reprs = ", ".join(repr(t) for _, t in _leaves_with_keys(value))
                lines.append(f"{key}: {state} ({reprs})")
        return lines
    try:
        exists = target.exists()
    except Exception as e:  # a storage error is shown, not hidden as "absent"
        return [f"error: {type(e).__name__}: {e}"]
    if not exists:
        return ["absent"]
    return ["existent" + (f", {verdicts.text()}" if verdicts is not None else "")]


class _Outdated:
    """
    Provenance verdicts of the tasks in a tree (None when no task there tracks provenance),
    judged requirements first, so that an outdated input makes its dependents outdated.
    """

    def __init__(self, tasks: list[Any]):
        from pipekit.provenance.check import ProvenanceCheck
        from pipekit.provenance.settings import makes_outputs, tracks

        self.check = ProvenanceCheck()
        self.branches: dict[str, dict[int, Any]] = {}
        self.outputs: dict[str, list[tuple[Any, Any]]] = {}
        for t in reversed(tasks):  # reversed pre-order: every task after its requirements
            if t.task_id in self.branches or t.task_id in self.outputs or not tracks(t) \
                    or not (_is_workflow(t) or makes_outputs(t)):
                continue
            try:
                if _is_workflow(t):
                    self.branches[t.task_id] = self.check.branch_verdicts(t)
                else:
                    self.outputs[t.task_id] = self.check.task_verdicts(t)
            except Exception as e:  # unreadable storage: shown as an error line, not a crash
                self.outputs[t.task_id] = [(None, _error_verdict(e))]

    @classmethod
    def of(cls, tasks: list[Any]) -> _Outdated | None:
        from pipekit.provenance.settings import any_tracking

        return cls(tasks) if any_tracking(tasks) else None

    def leaf_verdicts(self, task: Any, target: Any) -> Any:
        """What :func:`_target_status_lines` takes for *target*, an output of *task*."""
        if task.task_id in self.branches:
            return self.branches[task.task_id] if isinstance(target, TargetCollection) else None
        from pipekit.provenance.check import combine
        from pipekit.provenance.record import _leaves

        pairs = self.outputs.get(task.task_id)
        if pairs is None:  # a wrapper task shows its requirements' outputs: judged already
            pairs = [(t, v) for t in _leaves(target) if (v := self.check.known(t)) is not None]
        mine = {t: v for t, v in pairs if t is not None}
        if isinstance(target, TargetCollection):
            leaves_of = {k: [t for t in _leaves(v) if t in mine] for k, v in target.items()}
            return {k: combine([mine[t] for t in ls]) for k, ls in leaves_of.items() if ls}
        return mine.get(target)

    def summary_lines(self, task: Any) -> list[str]:
        from pipekit.provenance.describe import summarize_branches

        verdicts = self.branches.get(task.task_id)
        if verdicts is not None:
            return summarize_branches(verdicts, len(task.branch_map))
        errors = [v for t, v in self.outputs.get(task.task_id, []) if t is None]
        return [f"provenance: {v.text()}" for v in errors]


def _is_workflow(task: Any) -> bool:
    is_workflow = getattr(task, "is_workflow", None)
    return bool(callable(is_workflow) and is_workflow())


def _error_verdict(e: Exception) -> Any:
    from pipekit.provenance.check import UNKNOWN, Verdict

    return Verdict(UNKNOWN, [f"cannot be checked: {type(e).__name__}: {e}"])


def _header(what: str, depth: int, extra: str = "") -> None:
    print(f"print task {what} with max_depth {depth}{extra}\n")


def print_task_deps(task: Any, spec: str) -> None:
    depth = int(_ints(spec, 1, "--print-deps")[0])
    _header("dependencies", depth)
    for t, d, prefix, _ in walk_tree(task, depth):
        if d > 0:
            print(_connector(prefix))
        print(f"{prefix}{d} > {t!r}")


def print_task_status(task: Any, spec: str) -> None:
    # one listing per directory for the whole tree (a workflow's count and branch summary)
    with listing_snapshot():
        _print_task_status(task, spec)


def _print_task_status(task: Any, spec: str) -> None:
    parts = _ints(spec, 2, "--print-status")
    depth = int(parts[0])
    target_depth = int(parts[1]) if parts[1] else 0
    _header("status", depth, f" and target_depth {target_depth}")
    tree = list(walk_tree(task, depth))
    outdated = _Outdated.of([t for t, _, _, again in tree if not again])
    for t, d, prefix, again in tree:
        if d > 0:
            print(_connector(prefix))
        print(f"{prefix}{d} > {t!r}")
        body = _body(prefix, d)
        if again:
            print(f"{body}(shown above)")
            continue
        try:
            outputs = t.output()
        except Exception as e:
            print(f"{body}error computing outputs: {type(e).__name__}: {e}")
            continue
        leaves = list(_leaves_with_keys(outputs))
        if not leaves:
            print(f"{body}no outputs")
        for key, target in leaves:
            print(f"{body}{_fmt_key(key)}{target!r}")
            verdicts = outdated.leaf_verdicts(t, target) if outdated else None
            for line in _target_status_lines(target, target_depth, verdicts):
                print(f"{body}  {line}")
        extra = getattr(t, "extra_status_lines", None)
        if callable(extra):
            for line in extra(target_depth):
                print(f"{body}{line}")
        for line in outdated.summary_lines(t) if outdated else ():
            print(f"{body}{line}")


def _connector(prefix: str) -> str:
    # the vertical line above a child entry: parent's columns plus a bar
    return (prefix[:-3] + "│").rstrip() if prefix else "│"


def _body(prefix: str, depth: int) -> str:
    base = prefix.replace("└──", "   ").replace("├──", "│  ")
    return base + ("│     " if depth == 0 else "      ")


def _iter_output_targets(task: Any, max_depth: int) -> Iterator[tuple[Any, Any]]:
    seen: set[str] = set()
    for t, _, _, again in walk_tree(task, max_depth):
        if again or t.task_id in seen:
            continue
        seen.add(t.task_id)
        for _, target in _leaves_with_keys(t.output()):
            if isinstance(target, TargetCollection):
                for leaf in target.iter_targets():
                    yield t, leaf
            else:
                yield t, target


def print_task_output(task: Any, spec: str) -> None:
    """Output locations to the depth; ``D,provenance`` (or ``D,p``) adds each one's record."""
    parts = _ints(spec, 2, "--print-output")
    depth = int(parts[0])
    show = parts[1].strip().lower()
    if show not in ("", "p", "provenance"):
        raise UsageError(f"--print-output takes D or D,provenance, got {spec!r}")
    _header("output", depth, ", showing schemes" + (" and provenance" if show else ""))
    check = None
    if show:
        from pipekit.provenance.check import ProvenanceCheck

        check = ProvenanceCheck()
    for _, target in _iter_output_targets(task, depth):
        print(target.uri() if hasattr(target, "uri") else repr(target))
        if check is not None and isinstance(target, FileSystemTarget):
            for line in _provenance_lines(check, target):
                print(line)


def _provenance_lines(check: Any, target: Any) -> list[str]:
    from pipekit.provenance.describe import describe

    try:
        verdict = check.target_verdict(target)
    except Exception as e:  # unreadable storage: say so and go on with the next output
        return [f"    provenance: cannot be read: {type(e).__name__}: {e}"]
    if verdict.record is None:
        return [f"    provenance: {verdict.text()}"]
    return describe(verdict.record, verdict, indent="    ")


def _mode(raw: str, what: str, outdated: bool = False) -> str:
    raw = (raw or "").strip().lower()
    if outdated and raw in ("o", "outdated"):
        return "o"
    if raw in ("i", "interactive"):
        if not sys.stdin.isatty():
            raise UsageError(f"{what} mode 'interactive' needs a terminal; use a(ll) or d(ry)")
        return "i"
    if raw in ("a", "all"):
        return "a"
    if raw in ("d", "dry"):
        return "d"
    if raw:
        modes = "i(nteractive), a(ll), d(ry)" + (" or o(utdated)" if outdated else "")
        raise UsageError(f"unknown {what} mode {raw!r}; use {modes}")
    if sys.stdin.isatty():
        answer = input(f"{what}: select mode - i)nteractive, a)ll, d)ry [d]: ").strip().lower() or "d"
        return _mode(answer, what)
    return "a"  # not a terminal: the depth given on the command line is the instruction


def _ask(question: str) -> bool:
    return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")


def _truthy(raw: str) -> bool:
    return raw.strip().lower() in ("1", "y", "yes", "true", "r", "run")


def remove_task_output(task: Any, spec: str) -> bool:
    """Remove outputs down to the depth; returns whether the task should run afterwards."""
    parts = _ints(spec, 3, "--remove-output")
    depth = int(parts[0])
    mode = _mode(parts[1], "remove-output", outdated=True)
    if mode == "o":
        _remove_outdated(task, depth)
        return _truthy(parts[2])
    print(f"remove task output with max_depth {depth}" + (" (dry run)" if mode == "d" else "") + "\n")
    for t, d, prefix, again in walk_tree(task, depth):
        if again:
            continue
        print(f"{prefix}{d} > {t!r}")
        body = _body(prefix, d)
        if isinstance(t, luigi.ExternalTask) or getattr(t, "run", None) is None:
            print(f"{body}skipped (external task)")
            continue
        if mode == "i" and not _ask(f"{body}remove outputs of {t!r}?"):
            print(f"{body}kept")
            continue
        for key, target in _leaves_with_keys(t.output()):
            exists = target.exists() if not isinstance(target, TargetCollection) else target.count() > 0
            if not exists:
                print(f"{body}{_fmt_key(key)}{target!r}: absent")
                continue
            if mode == "d":
                print(f"{body}{_fmt_key(key)}{target!r}: would be removed")
                continue
            target.remove()
            print(f"{body}{_fmt_key(key)}{target!r}: removed")
    return mode != "d" and _truthy(parts[2])


def _remove_outdated(task: Any, depth: int) -> None:
    """
    Remove the outputs the provenance check finds outdated (all verdicts first, then the
    removals: a removed input must not hide that its dependents are outdated). An outdated
    branch or task loses all its outputs, so that it runs again; current and unknown ones stay.
    """
    from pipekit.provenance.record import _leaves
    from pipekit.ranges import join_ranges

    print(f"remove outdated task output with max_depth {depth}\n")
    tree = [(t, d, p) for t, d, p, again in walk_tree(task, depth) if not again]
    with listing_snapshot():  # judge everything first, on one listing per directory
        outdated = _Outdated.of([t for t, _, _ in tree])
    if outdated is None:
        print("provenance is not recorded for these tasks ([core] provenance: True in law.cfg, or "
              "track_provenance = True): no output is known to be outdated")
        return
    from pipekit.provenance.check import OUTDATED, combine

    for t, d, prefix in tree:
        print(f"{prefix}{d} > {t!r}")
        body = _body(prefix, d)
        if t.task_id in outdated.branches:
            verdicts = outdated.branches[t.task_id]
            stale = sorted(b for b, v in verdicts.items() if v.status == OUTDATED)
            if not stale:
                print(f"{body}no outdated branches")
                continue
            coll = t.workflow_output()["collection"]
            for b in stale:
                for leaf in _leaves(coll.targets[b]):
                    leaf.remove()
            print(f"{body}branches {join_ranges(stale, max_ranges=8)}: removed "
                  f"({len(stale)} outdated)")
            continue
        pairs = outdated.outputs.get(t.task_id)
        verdict = combine([v for _, v in pairs]) if pairs else None
        if verdict is None or verdict.status != OUTDATED:
            print(f"{body}{verdict.text() if verdict else 'not tracked'}: kept")
            continue
        for target, _ in pairs:
            if target is not None:
                target.remove()
        print(f"{body}removed ({verdict.text()})")


def fetch_task_output(task: Any, spec: str) -> None:
    """Copy outputs down to the depth into a local directory (default: working directory)."""
    parts = _ints(spec, 3, "--fetch-output")
    depth = int(parts[0])
    mode = _mode(parts[1], "fetch-output")
    dst_dir = os.path.abspath(os.path.expanduser(parts[2] or "."))
    print(f"fetch task output with max_depth {depth} to {dst_dir}" + (" (dry run)" if mode == "d" else "") + "\n")
    from pipekit.target.local import LocalDirectoryTarget

    dst = LocalDirectoryTarget(dst_dir)
    for _, target in _iter_output_targets(task, depth):
        if not isinstance(target, FileSystemTarget):
            continue
        if not target.exists():
            print(f"{target.uri()}: absent")
            continue
        if mode == "i" and not _ask(f"fetch {target.uri()}?"):
            continue
        if mode == "d":
            print(f"{target.uri()}: would be copied to {os.path.join(dst_dir, target.basename)}")
            continue
        dst.touch()
        path = target.copy_to(dst)
        print(f"{target.uri()}: copied to {path}")
