"""
``pipekit report TASK [--param value ...] [-o report.html] [--trace trace.tsv] [--depth D]``:
write the run report of a workflow, or of every workflow in a task's dependency tree, as one
self-contained HTML file, and optionally the trace (one TSV row per branch attempt).

``pipekit report --ledger PATH [--ledger PATH ...]`` reports from ledger files directly (no task
module needed, e.g. on another machine). Everything is read from ledgers, exit-status files and
provenance records; no batch system is asked. See docs/report.md.
"""

from __future__ import annotations

import os
from typing import Any

from pipekit.errors import PipekitError, UsageError

__all__ = ["execute", "write_report"]

_USAGE = """usage: {prog} TASK [--PARAM VALUE ...] [-o FILE] [--trace FILE] [--depth D]
       {prog} --ledger LEDGER [--ledger LEDGER ...] [-o FILE] [--trace FILE]

Write the run report of TASK (a workflow, or a task whose dependency tree holds
workflows; module.Class or an indexed family) to FILE (default: <Family>-report.html),
a single HTML page with no network access at view time: summary, timeline of job
attempts, slowest and failed branches with log tails, run-time and memory histograms,
requested against used resources, and what made each output (with provenance on).
  -o, --report-output FILE   the HTML file
  --trace FILE               also write the trace: one TSV row per branch attempt
  --depth D                  how deep to follow requirements (-1, the default: all;
                             --report-depth when the task has a parameter 'depth')
  --ledger LEDGER            report this ledger file (repeatable) instead of a task"""


class NothingToReport(PipekitError):
    """No workflow in the tree has a ledger yet."""


def _split(args: list[str], task_params: set[str]) -> tuple[dict[str, Any], list[str]]:
    from pipekit.cli.options import take_options

    values = {"-o": "output", "--report-output": "output", "--report-trace": "trace",
              "--report-depth": "depth", "--ledger": "ledger"}
    return take_options(args, values, repeated=("ledger",), shadowable=("output", "trace", "depth"),
                        task_params=task_params)


def _depth(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise UsageError(f"--depth must be an integer (-1: everything), got {value!r}") from None


def _load(paths: list[str]) -> list[Any]:
    from pipekit.report.collect import load_workflow

    runs = []
    for path in paths:
        try:
            runs.append(load_workflow(path))
        except (OSError, ValueError) as e:
            raise UsageError(f"cannot read the ledger {path}: {e}; give the ledger.json of a "
                             "workflow (pipekit status lists them)") from None
    return runs


def write_report(workflows: list[Any], html_path: str, title: str,
                 trace_path: str | None = None, records: Any = None) -> str:
    """Write the HTML report (and the trace); prints where. Returns the HTML file's path."""
    from pipekit.job.jsonfile import write_text_atomic
    from pipekit.report.html import render_report
    from pipekit.report.summary import summarize
    from pipekit.report.trace import write_trace

    html_path = os.path.abspath(os.path.expanduser(html_path))
    write_text_atomic(html_path, render_report(workflows, title, records), durable=False)
    s = summarize(workflows)
    print(f"report of {title}: {len(workflows)} workflow(s), {s.n_attempts} job attempt(s), "
          f"{s.n_done}/{s.n_branches} branches done: {html_path}", flush=True)
    if trace_path:
        trace_path = os.path.abspath(os.path.expanduser(trace_path))
        n = write_trace(workflows, trace_path)
        print(f"trace: {n} row(s), one per branch attempt: {trace_path}", flush=True)
    return html_path


def _from_task(args: list[str], opts: dict[str, Any], namespace: dict[str, Any] | None,
               prog: str) -> tuple[list[Any], str, Any, str] | None:
    """(workflows, title, provenance records, default file name); None when help was shown."""
    from pipekit.cli.run import instantiate, parse_task_args, resolve_task_class
    from pipekit.report.provenance import provenance_checker, provenance_reader
    from pipekit.report.tasks import output_records, workflows_of_tree
    from pipekit.task.base import set_cli_values

    cls = resolve_task_class(args[0], namespace)
    found, rest = _split(args[1:], {name for name, _ in cls.get_params()})
    opts.update({k: v for k, v in found.items() if k != "ledger" or v})
    kwargs, run_opts, cli_values, want_help = parse_task_args(cls, rest)
    if want_help:
        print(_USAGE.format(prog=prog))
        return None
    if run_opts.interactive:
        given = ", ".join("--" + k.replace("_", "-") for k in run_opts.interactive)
        raise UsageError(f"{prog} only reads; use 'pipekit run' for {given}")
    set_cli_values(cli_values)
    task = instantiate(cls, kwargs)
    tree = workflows_of_tree(task, _depth(str(opts.get("depth", "-1"))))
    if not tree:
        raise UsageError(f"{task!r} is not a workflow and requires none; pipekit report shows "
                         "workflows (their jobs or branch runs)")
    paths = [p for _, ps in tree for p in ps]
    if not paths:
        names = ", ".join(wf.get_task_family() for wf, _ in tree[:5])
        raise NothingToReport(f"no workflow in the tree of {task!r} has run yet ({names}: no "
                              "ledger); run it first, e.g. pipekit run "
                              f"{args[0]} ..., then pipekit report again")
    reader, checker = provenance_reader(), provenance_checker()
    records = [output_records(wf, reader, checker=checker) for wf, ps in tree if ps]
    return _load(paths), repr(task), records, f"{cls.get_task_family()}-report.html"


def execute(args: list[str], prog: str = "pipekit report",
            namespace: dict[str, Any] | None = None) -> int:
    if not args or args[0] in ("-h", "--help"):
        print(_USAGE.format(prog=prog))
        return 0 if args else 2
    from pipekit.config import Config

    Config.instance()
    opts: dict[str, Any] = {}
    if args[0].startswith("-"):
        found, rest = _split(args, set())
        if rest:
            raise UsageError(f"unexpected argument(s) {' '.join(rest)}; give TASK first, or only "
                             "--ledger, -o, --trace")
        if not found["ledger"]:
            raise UsageError(f"{prog} needs a TASK or --ledger LEDGER")
        opts.update(found)
        workflows = _load(found["ledger"])
        title = ", ".join(wf.family for wf in workflows)
        records, default = None, "report.html"
    else:
        made = _from_task(args, opts, namespace, prog)
        if made is None:
            return 0
        workflows, title, records, default = made
    write_report(workflows, opts.get("output") or default, title, opts.get("trace"), records)
    return 0
