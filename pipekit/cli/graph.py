"""
``pipekit graph TASK [--param value ...] [-o FILE] [--depth D] [--backend B]``: draw the
dependency graph of a task to a picture, nodes coloured by status.

FILE ends in ``.png`` (default ``<Family>-deps.png``), ``.svg``, ``.pdf`` or ``.dot``; D is the
depth (-1, the default, is everything); B is ``auto`` (graphviz' ``dot`` when installed, else
matplotlib), ``dot`` or ``matplotlib``. With a central scheduler (``--scheduler-host``, or
``[luigi_core] local_scheduler: False``) running and failed tasks are coloured as such. When a
task has a parameter called ``depth`` or ``backend``, use ``--graph-depth`` / ``--graph-backend``.
``pipekit run TASK --print-deps D --graph FILE`` does the same next to the printed tree.
"""

from __future__ import annotations

import os
from typing import Any

from pipekit.errors import UsageError

__all__ = ["execute", "write_task_graph", "split_graph_args", "last_picture"]

#: the picture written last in this process (``%ilaw`` shows it in the notebook)
last_picture: str | None = None

_USAGE = """usage: {prog} TASK [--PARAM VALUE ...] [-o FILE] [--depth D] [--backend B]

Draw the dependency graph of TASK (module.Class or an indexed family) to FILE
(.png, .svg, .pdf or .dot; default: <Family>-deps.png), down to depth D (-1: all),
nodes coloured by status: complete, missing, running, failed (running and failed
need a central scheduler: --scheduler-host HOST [--scheduler-port PORT]).
B: auto (graphviz' dot when installed, else matplotlib), dot or matplotlib."""


def _depth(spec: str) -> int:
    first = str(spec).split(",")[0].strip()
    try:
        return int(first)
    except ValueError:
        raise UsageError(
            f"the graph depth must be an integer (-1: everything), got {spec!r}"
        ) from None


def _scheduler_url(opts: Any) -> str | None:
    """URL of the central scheduler this command talks to, or None with the local scheduler."""
    from pipekit.cli.execution import _use_local_scheduler

    if _use_local_scheduler(opts):
        return None
    from luigi.interface import core

    conf = core()
    if conf.scheduler_url and not (opts.scheduler_host or opts.scheduler_port):
        return conf.scheduler_url
    host = opts.scheduler_host or conf.scheduler_host
    port = opts.scheduler_port or conf.scheduler_port
    return f"http://{host}:{port}/"


def write_task_graph(
    task: Any, path: str, depth: Any = -1, opts: Any = None, backend: str | None = None
) -> str:
    """Draw the graph of *task* to *path*; prints one line saying where. Returns the path."""
    from pipekit.graph import build_graph, draw_graph, output_format, scheduler_states

    output_format(path)  # a bad file name fails before the walk, which may take a while
    url = _scheduler_url(opts) if opts is not None else None
    states = scheduler_states(url) if url else {}
    graph = build_graph(task, max_depth=_depth(depth), states=states)
    used = draw_graph(graph, path, backend=backend)
    global last_picture
    path = last_picture = os.path.abspath(os.path.expanduser(path))
    n = len(graph.nodes)
    print(
        f"dependency graph of {task!r} ({n} node{'s' if n != 1 else ''}, {used}"
        + (", states from the scheduler" if url else "")
        + f"): {path}",
        flush=True,
    )
    return path


def split_graph_args(args: list[str], task_params: set[str]) -> tuple[dict[str, str], list[str]]:
    """
    Take ``-o/--output``, ``--depth`` and ``--backend`` (or ``--graph-depth`` /
    ``--graph-backend``) out of *args*; ``--depth``/``--backend`` stay with the task when it has
    a parameter of that name. Returns ``(graph options, remaining args)``.
    """
    from pipekit.cli.options import take_options

    values = {"-o": "output", "--output": "output", "--graph-output": "output",
              "--graph-depth": "depth", "--graph-backend": "backend"}
    return take_options(args, values, shadowable=("depth", "backend"), task_params=task_params)


def execute(
    args: list[str], prog: str = "pipekit graph", namespace: dict[str, Any] | None = None
) -> int:
    if not args or args[0] in ("-h", "--help"):
        print(_USAGE.format(prog=prog))
        return 0 if args else 2
    from pipekit.cli.run import instantiate, parse_task_args, resolve_task_class
    from pipekit.config import Config

    Config.instance()
    cls = resolve_task_class(args[0], namespace)
    graph_opts, rest = split_graph_args(args[1:], {name for name, _ in cls.get_params()})
    kwargs, opts, cli_values, want_help = parse_task_args(cls, rest)
    if want_help:
        print(_USAGE.format(prog=prog))
        return 0
    if opts.interactive:
        given = ", ".join("--" + k.replace("_", "-") for k in opts.interactive)
        raise UsageError(f"{prog} only draws; use 'pipekit run' for {given}")
    from pipekit.task.base import set_cli_values

    set_cli_values(cli_values)
    task = instantiate(cls, kwargs)
    path = graph_opts.get("output") or f"{cls.get_task_family()}-deps.png"
    write_task_graph(
        task, path, graph_opts.get("depth", "-1"), opts, backend=graph_opts.get("backend")
    )
    return 0
