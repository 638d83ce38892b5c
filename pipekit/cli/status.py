"""
``pipekit status [TASK [--param value ...]] [--once] [--interval S] [--scan DIR] [--plain]``: a table of
the analysis's workflows — jobs per state, branches done, a progress bar, CPU time, and whether
a process still runs them — refreshed in place on a terminal until none is active (Ctrl-C
leaves earlier), printed once otherwise. Several concurrent workflows (local, Slurm, HTCondor)
can be watched from one terminal.

Which workflows: those of TASK's dependency tree, or every workflow the analysis registry lists
(:mod:`pipekit.job.registry`, in the ``.law`` directory next to law.cfg), plus the ledgers found
below each ``--scan DIR``. Only ledgers are read; no batch system is asked. Uses ``rich`` for
the table when it is installed, plain text otherwise.
"""

from __future__ import annotations

import os
import sys
import time
from typing import IO, Any

from pipekit.errors import PipekitError, UsageError

__all__ = ["execute", "render_plain", "collect_paths"]

_USAGE = """usage: {prog} [TASK [--PARAM VALUE ...]] [--once] [--interval S] [--scan DIR] [--plain]

Show the workflows of the analysis (or of TASK's dependency tree): jobs per state,
branches done, progress, CPU time, and whether a process is attached. On a terminal the
table refreshes every S seconds (default 2) until no workflow is active; --once prints
it once. --scan DIR (repeatable) also shows ledgers found below DIR. --plain: plain text
even when rich is installed."""


class NoWorkflows(PipekitError):
    """Nothing to show."""


def _split(args: list[str]) -> tuple[dict[str, Any], list[str]]:
    from pipekit.cli.options import take_options

    found, rest = take_options(
        args, {"--interval": "interval", "--status-interval": "interval", "--scan": "scan"},
        flags={"--once": "once", "--status-once": "once", "--plain": "plain"}, repeated=("scan",))
    opts: dict[str, Any] = {"once": False, "plain": False, "interval": 2.0, **found}
    for value in opts["scan"]:
        if not os.path.isdir(value):
            raise UsageError(f"--scan {value}: not a directory")
    if "interval" in found:
        try:
            opts["interval"] = max(0.2, float(found["interval"].rstrip("s")))
        except ValueError:
            raise UsageError(f"--interval takes seconds, got {found['interval']!r}") from None
    return opts, rest


def collect_paths(task_args: list[str], scan: list[str], namespace: Any = None) -> tuple[list[str], str]:
    """The ledgers to show and where they came from (for the message when there are none)."""
    from pipekit.job.registry import registered_ledgers, registry_path, scan_ledgers

    paths: list[str] = []
    if task_args:
        from pipekit.cli.run import instantiate, parse_task_args, resolve_task_class
        from pipekit.report.tasks import workflows_of_tree
        from pipekit.task.base import set_cli_values

        cls = resolve_task_class(task_args[0], namespace)
        kwargs, _, cli_values, _ = parse_task_args(cls, task_args[1:])
        set_cli_values(cli_values)
        task = instantiate(cls, kwargs)
        paths = [p for _, ps in workflows_of_tree(task) for p in ps]
        where = f"the dependency tree of {task!r}"
    else:
        paths = [e["ledger"] for e in registered_ledgers()]
        where = f"the analysis registry {registry_path()}"
    for root in scan:
        paths += list(scan_ledgers(root))
        where += f" and below {os.path.abspath(root)}"
    return list(dict.fromkeys(os.path.abspath(p) for p in paths)), where


def _bar(frac: float, width: int = 20) -> str:
    full = int(round(max(0.0, min(1.0, frac)) * width))
    return "[" + "#" * full + "-" * (width - full) + "]"


def _elapsed(ov: Any, now: float) -> str:
    if ov.started is None:
        return "—"
    end = now if ov.activity == "running" else (ov.updated or now)
    s = int(max(0, end - ov.started))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def _rows(overviews: list[Any], now: float) -> list[list[str]]:
    from pipekit.job.status_line import format_counts

    rows = []
    for ov in overviews:
        jobs = format_counts(dict(ov.jobs))
        done = f"{ov.n_done}/{ov.n_branches}" + (f" ({ov.n_failed} failed)" if ov.n_failed else "")
        rows.append([ov.family, ov.type, jobs if ov.error is None else f"unreadable: {ov.error}",
                     done, f"{_bar(ov.progress)} {100 * ov.progress:3.0f}%",
                     f"{ov.cpu_s / 3600:.2f}", _elapsed(ov, now), ov.activity])
    return rows


_HEAD = ["workflow", "type", "jobs", "branches done", "progress", "CPU h", "elapsed", "state"]


def render_plain(overviews: list[Any], now: float | None = None) -> str:
    """The table as plain text lines (what a non-terminal gets)."""
    rows = [_HEAD] + _rows(overviews, time.time() if now is None else now)
    widths = [max(len(r[i]) for r in rows) for i in range(len(_HEAD))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    active = sum(1 for ov in overviews if ov.activity == "running")
    lines.append(f"{len(overviews)} workflow(s), {active} running — {time.strftime('%H:%M:%S')}")
    return "\n".join(lines)


def _rich_table(overviews: list[Any]) -> Any:
    from rich.table import Table

    table = Table(title="pipekit status", title_justify="left")
    for h in _HEAD:
        table.add_column(h, justify="right" if h in ("CPU h", "elapsed") else "left")
    colors = {"running": "blue", "done": "green", "failed": "red", "stopped": "yellow",
              "detached": "yellow"}
    from rich.markup import escape

    for row, ov in zip(_rows(overviews, time.time()), overviews):
        row = [escape(c) for c in row]  # the progress bar's brackets are no markup
        row[-1] = f"[{colors.get(ov.activity, 'white')}]{row[-1]}[/]"
        table.add_row(*row)
    return table


def _watch(paths: list[str], opts: dict[str, Any], out: IO[str]) -> int:
    from pipekit.report.overview import OverviewCache

    cache = OverviewCache()

    def snapshot() -> list[Any]:
        return sorted((cache.get(p) for p in paths if os.path.exists(p)),
                      key=lambda ov: (ov.activity != "running", ov.family))

    overviews = snapshot()
    live = out.isatty() and not opts["once"]
    if not live:
        out.write(render_plain(overviews) + "\n")
        return 0
    has_rich = False
    if not opts["plain"]:
        try:
            import rich  # noqa: F401
            has_rich = True
        except ImportError:
            pass
    try:
        if has_rich:
            from rich.console import Console
            from rich.live import Live

            with Live(_rich_table(overviews), console=Console(file=out), auto_refresh=False) as view:
                while any(ov.activity == "running" for ov in overviews):
                    time.sleep(opts["interval"])
                    overviews = snapshot()
                    view.update(_rich_table(overviews), refresh=True)
            return 0
        shown = 0
        while True:
            text = render_plain(overviews)
            # back to the first line of the previous table, then redraw (no flicker, no scroll)
            out.write((f"\033[{shown}F" if shown else "") + "\033[J" + text + "\n")
            out.flush()
            shown = text.count("\n") + 1
            if not any(ov.activity == "running" for ov in overviews):
                return 0
            time.sleep(opts["interval"])
            overviews = snapshot()
    except KeyboardInterrupt:
        out.write("\n")
        return 0


def execute(args: list[str], prog: str = "pipekit status", namespace: Any = None) -> int:
    if args and args[0] in ("-h", "--help"):
        print(_USAGE.format(prog=prog))
        return 0
    from pipekit.config import Config

    Config.instance()
    opts, rest = _split(args)
    if rest and rest[0].startswith("-"):
        raise UsageError(f"unknown option {rest[0]}; {prog} --help lists the options")
    paths, where = collect_paths(rest, opts["scan"], namespace)
    if not paths:
        raise NoWorkflows(f"no workflow ledgers found in {where}; run a workflow first, or point "
                          "--scan at the directory holding its outputs")
    return _watch(paths, opts, sys.stdout)
