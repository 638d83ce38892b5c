"""
Pictures of a task's dependency graph: ``pipekit graph TASK -o deps.png`` and
``pipekit run TASK --print-deps D --graph deps.svg``.

:func:`build_graph` walks the requirements of a task (to a depth) and gives every task a status:
*complete*, *missing*, *running* or *failed*. Running and failed come from luigi's central
scheduler when one is used (``--scheduler-host``, or ``[luigi_core] local_scheduler: False``);
without one, the status is the task's completeness. A workflow's label says how many of its
branches are present. Many requirements of one family under one task (say 500 ``TimesTwo``)
are drawn as one node "TimesTwo x500" with their counts, so big graphs stay readable.

:func:`draw_graph` writes PNG, SVG or PDF with graphviz' ``dot`` when it is installed, and with
matplotlib otherwise (a simple layered layout; ``PIPEKIT_GRAPH_BACKEND=matplotlib`` forces it).
A ``.dot`` file name writes the graphviz source itself. Arrows point the way data flows: from a
requirement to the task that needs it, so the task asked for is at the bottom.
"""

from __future__ import annotations

import json
import os
import urllib.parse
import urllib.request
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import luigi
import luigi.task
from luigi.parameter import _no_value

from pipekit.errors import CommandError, MissingExtraError, UsageError

__all__ = [
    "STATUS_COLORS",
    "GraphNode",
    "DependencyGraph",
    "build_graph",
    "draw_graph",
    "graph_backend",
    "scheduler_states",
    "to_dot",
]

#: fill colour per status (luigi's visualiser uses the same hues)
STATUS_COLORS = {
    "complete": "#9fdf9f",
    "missing": "#ffe08a",
    "running": "#8ec5f0",
    "failed": "#f08a8a",
}
FORMATS = ("png", "svg", "pdf", "dot")
#: more requirements of one family under one task than this are drawn as one node
COLLAPSE_AT = 8
_MAX_PARAM_LINES = 3
_MAX_LINE = 36


@dataclass
class GraphNode:
    """One box in the picture: a task, or several tasks of one family drawn together."""

    key: str
    family: str
    params: list[str]
    status: str
    detail: str = ""
    count: int = 1

    def label_lines(self) -> list[str]:
        """The lines of the box: family, parameters, status (so colour is not the only cue)."""
        title = self.family if self.count == 1 else f"{self.family} x{self.count}"
        return [title, *self.params, self.detail or self.status]


@dataclass
class DependencyGraph:
    """Nodes by key (in walk order, the root first) and edges ``(requirement, task)``."""

    root: str
    title: str
    nodes: dict[str, GraphNode] = field(default_factory=dict)
    edges: list[tuple[str, str]] = field(default_factory=list)

    def families(self) -> list[str]:
        return sorted({n.family for n in self.nodes.values()})


# -- status ---------------------------------------------------------------------------------------


def scheduler_states(url: str, timeout: float = 5.0) -> dict[str, str]:
    """
    ``{task_id: "running" | "failed" | "complete" | "missing"}`` as luigi's central scheduler at
    *url* knows them. Raises :class:`UsageError` naming the URL when it cannot be reached.
    """
    states: dict[str, str] = {}
    mapping = {
        "RUNNING": "running",
        "BATCH_RUNNING": "running",
        "FAILED": "failed",
        "DISABLED": "failed",
        "DONE": "complete",
        "PENDING": "missing",
    }
    for luigi_status, status in mapping.items():
        data = json.dumps({"status": luigi_status, "upstream_status": "", "limit": False})
        query = urllib.parse.urlencode({"data": data})
        api = f"{url.rstrip('/')}/api/task_list?{query}"
        try:
            with urllib.request.urlopen(api, timeout=timeout) as resp:  # noqa: S310 (http only)
                tasks = json.loads(resp.read().decode())["response"]
        except (OSError, ValueError, KeyError) as e:
            raise UsageError(
                f"cannot ask the luigi scheduler at {url} for task states ({e}); start it "
                "('pipekit luigid') or draw without it (--local-scheduler)"
            ) from None
        for task_id in tasks:
            states.setdefault(task_id, status)
    return states


def _param_lines(task: Any) -> list[str]:
    """Parameters that differ from their defaults, shortened (the family says the rest)."""
    lines: list[str] = []
    hidden = set(getattr(task, "exclude_params_repr", ()) or ())
    for name, param in task.get_params():
        if not param.significant or name in hidden:
            continue
        try:
            value = param.serialize(getattr(task, name))
            default = None if param._default is _no_value else param.serialize(param._default)
        except Exception:  # an odd parameter type must not break the picture
            continue
        if value == default or value in ("", "()", "[]", "NO_STR"):
            continue
        text = f"{name}={value}"
        lines.append(text if len(text) <= _MAX_LINE else text[: _MAX_LINE - 3] + "...")
    if len(lines) > _MAX_PARAM_LINES:
        lines = lines[: _MAX_PARAM_LINES - 1] + [f"(+{len(lines) - _MAX_PARAM_LINES + 1} more)"]
    return lines


def _task_status(task: Any, states: dict[str, str]) -> tuple[str, str]:
    """``(status, detail)`` of one task."""
    known = states.get(task.task_id)
    if known in ("running", "failed"):
        return known, known
    try:
        done = bool(task.complete())
    except Exception as e:  # a storage error shows as a failure, not as "missing"
        return "failed", f"complete() raised {type(e).__name__}"
    detail = ""
    is_workflow = getattr(task, "is_workflow", None)
    if callable(is_workflow) and is_workflow() and hasattr(task, "missing_branches"):
        try:
            n_total = len(task.branch_map)
            n_missing = len(task.missing_branches())
            detail = f"{n_total - n_missing}/{n_total} branches present"
        except Exception as e:
            detail = f"branches unknown ({type(e).__name__})"
    status = "complete" if done else "missing"
    return status, detail or status


def _requirements(task: Any) -> tuple[list[Any], str]:
    try:
        return list(luigi.task.flatten(task.requires())), ""
    except Exception as e:
        return [], f"requires() raised {type(e).__name__}: {e}"


# -- building -------------------------------------------------------------------------------------


def _group_status(members: list[tuple[str, str]]) -> tuple[str, str]:
    counts = {s: 0 for s in STATUS_COLORS}
    for status, _ in members:
        counts[status] += 1
    for status in ("failed", "running", "missing"):
        if counts[status]:
            break
    else:
        status = "complete"
    detail = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    return status, detail


def build_graph(
    task: Any,
    max_depth: int = -1,
    states: dict[str, str] | None = None,
    collapse_at: int = COLLAPSE_AT,
) -> DependencyGraph:
    """
    The dependency graph of *task* down to *max_depth* (-1: everything). *states* are scheduler
    states from :func:`scheduler_states`; without them the status is completeness.
    """
    states = states or {}
    graph = DependencyGraph(root=task.task_id, title=repr(task))
    # queue entries: (key, member tasks, depth); a key is a task id or a group key
    queue: deque[tuple[str, list[Any], int]] = deque([(task.task_id, [task], 0)])
    while queue:
        key, members, depth = queue.popleft()
        if key in graph.nodes:
            continue
        first = members[0]
        if len(members) == 1:
            status, detail = _task_status(first, states)
            node = GraphNode(key, first.get_task_family(), _param_lines(first), status, detail)
        else:
            status, detail = _group_status([_task_status(m, states) for m in members])
            node = GraphNode(key, first.get_task_family(), [], status, detail, count=len(members))
        graph.nodes[key] = node
        if 0 <= max_depth <= depth:
            continue
        deps: dict[str, Any] = {}
        for member in members:
            reqs, error = _requirements(member)
            if error:
                node.status, node.detail = "failed", error[: _MAX_LINE * 2]
            for r in reqs:
                deps.setdefault(r.task_id, r)
        by_family: dict[str, list[Any]] = {}
        for dep in deps.values():
            by_family.setdefault(dep.get_task_family(), []).append(dep)
        for family, group in by_family.items():
            if len(group) > collapse_at:
                gkey = f"{key}/{family}*"
                graph.edges.append((gkey, key))
                queue.append((gkey, group, depth + 1))
                continue
            for dep in group:
                graph.edges.append((dep.task_id, key))
                queue.append((dep.task_id, [dep], depth + 1))
    graph.edges = list(dict.fromkeys(graph.edges))
    return graph


# -- graphviz -------------------------------------------------------------------------------------


def _html(text: str) -> str:
    import html

    return html.escape(text, quote=True)


def to_dot(graph: DependencyGraph) -> str:
    """The graph as graphviz source (HTML-like labels, one ``id`` per node: node0, node1, ...)."""
    ids = {key: f"node{i}" for i, key in enumerate(graph.nodes)}
    legend = "".join(
        f'<td bgcolor="{c}" border="1" width="72" height="18" fixedsize="true">{s}</td>'
        for s, c in STATUS_COLORS.items()
    )
    heading = _html("dependencies of " + graph.title)
    out = [
        "digraph dependencies {",
        f'  graph [rankdir=TB, fontname="DejaVu Sans", fontsize=11, labelloc=t, label=<<table '
        f'border="0"><tr><td>{heading}</td></tr><tr><td><table border="0" cellspacing="4"><tr>'
        f"{legend}</tr></table></td></tr></table>>];",
        '  node [shape=box, style="rounded,filled", fontname="DejaVu Sans", fontsize=10, '
        'color="#555555"];',
        '  edge [color="#555555", arrowsize=0.7];',
    ]
    for key, node in graph.nodes.items():
        title, *rest = node.label_lines()
        body = "".join(f"<br/>{_html(line)}" for line in rest[:-1])
        label = f"<<b>{_html(title)}</b>{body}<br/><i>{_html(rest[-1])}</i>>"
        out.append(
            f'  {ids[key]} [id="{ids[key]}", label={label}, '
            f'fillcolor="{STATUS_COLORS[node.status]}"];'
        )
    for src, dst in graph.edges:
        out.append(f"  {ids[src]} -> {ids[dst]};")
    out.append("}")
    return "\n".join(out) + "\n"


def _draw_dot(graph: DependencyGraph, path: str, fmt: str) -> None:
    from pipekit.shell import run_command

    run_command(["dot", f"-T{fmt}", "-o", path], input=to_dot(graph), timeout=300)


# -- backend choice and writing -------------------------------------------------------------------


def graph_backend(requested: str | None = None) -> str:
    """``"dot"`` or ``"matplotlib"``: *requested*, ``$PIPEKIT_GRAPH_BACKEND``, else dot if installed."""
    from pipekit.shell import which

    choice = (requested or os.getenv("PIPEKIT_GRAPH_BACKEND") or "auto").strip().lower()
    if choice not in ("auto", "dot", "graphviz", "matplotlib"):
        raise UsageError(f"unknown graph backend {choice!r}; use auto, dot or matplotlib")
    if choice in ("dot", "graphviz"):
        if not which("dot"):
            raise UsageError(
                "graphviz' 'dot' is not on PATH; install graphviz (Debian: apt-get "
                "install graphviz) or use the matplotlib backend"
            )
        return "dot"
    if choice == "matplotlib" or not which("dot"):
        return "matplotlib"
    return "dot"


def output_format(path: str) -> str:
    """The picture format named by the extension of *path*."""
    ext = os.path.splitext(path)[1].lower().lstrip(".")
    if ext not in FORMATS:
        raise UsageError(
            f"cannot tell the picture format of {path!r}; end the name in "
            f"{', '.join('.' + f for f in FORMATS)}"
        )
    return ext


def draw_graph(graph: DependencyGraph, path: str, backend: str | None = None) -> str:
    """Write *graph* to *path* (format from its extension), atomically; returns the backend used."""
    from pipekit.target.local import tmp_sibling_path

    fmt = output_format(path)
    path = os.path.abspath(os.path.expanduser(path))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = tmp_sibling_path(path)
    used = "dot source" if fmt == "dot" else graph_backend(backend)
    try:
        if fmt == "dot":
            with open(tmp, "w") as f:
                f.write(to_dot(graph))
        elif used == "dot":
            _draw_dot(graph, tmp, fmt)
        else:
            try:
                from pipekit.graph_mpl import draw_matplotlib
            except ImportError as e:
                if "matplotlib" not in str(e):
                    raise
                raise MissingExtraError(
                    "matplotlib", "matplotlib", "drawing dependency graphs without graphviz"
                ) from None
            draw_matplotlib(graph, tmp, fmt)
        os.replace(tmp, path)
    except (CommandError, OSError):
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return used
