"""
The pure-Python way to draw a dependency graph (used when graphviz' ``dot`` is not installed):
a layered layout drawn with matplotlib.

Layout: a task's row is its longest distance from the task asked for, so every arrow points
down; the order inside a row is improved by a few barycenter sweeps to reduce crossings. One
data unit is one inch, so boxes fit their text at any graph size. Only ``matplotlib.figure`` is
used, never ``pyplot``: drawing does not change the backend of a notebook it runs in.
"""

from __future__ import annotations

from typing import Any

from pipekit.graph import STATUS_COLORS, DependencyGraph

__all__ = ["draw_matplotlib", "layout"]

_CHAR_W = 0.078  # inches per character at font size 9 (DejaVu Sans, a little generous)
_LINE_H = 0.18
_PAD = 0.12
_ROW_GAP = 0.55
_COL_GAP = 0.3
_HEAD = 0.75  # title and legend above the graph
_MAX_PIXELS = 12000
_MAX_TITLE = 110  # characters of the title line


def _rows(graph: DependencyGraph) -> dict[str, int]:
    """Longest distance of every node from the root along task -> requirement edges."""
    reqs: dict[str, list[str]] = {k: [] for k in graph.nodes}
    indeg = {k: 0 for k in graph.nodes}
    for src, dst in graph.edges:
        reqs[dst].append(src)
        indeg[src] += 1
    row = {k: 0 for k in graph.nodes}
    ready = [k for k, n in indeg.items() if n == 0]
    while ready:
        key = ready.pop()
        for r in reqs[key]:
            row[r] = max(row[r], row[key] + 1)
            indeg[r] -= 1
            if indeg[r] == 0:
                ready.append(r)
    return row


def _box_size(lines: list[str]) -> tuple[float, float]:
    width = max(len(line) for line in lines) * _CHAR_W + 2 * _PAD
    return max(width, 0.9), len(lines) * _LINE_H + 2 * _PAD - 0.04


def _neighbours(graph: DependencyGraph) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """``(requirements of each node, nodes requiring each node)``."""
    up: dict[str, list[str]] = {k: [] for k in graph.nodes}
    down: dict[str, list[str]] = {k: [] for k in graph.nodes}
    for src, dst in graph.edges:
        down[src].append(dst)
        up[dst].append(src)
    return up, down


def _x_centers(
    graph: DependencyGraph, order: list[list[str]], widths: dict[str, float]
) -> dict[str, float]:
    """
    Horizontal centres: the widest row packed, every other row placed under (or over) the
    centres of its neighbours, rows nearer the widest one first, keeping order and gaps.
    """
    up, down = _neighbours(graph)
    x: dict[str, float] = {}
    for r in order:  # packed rows as the starting point
        pos = 0.0
        for key in r:
            x[key] = pos + widths[key] / 2
            pos += widths[key] + _COL_GAP
    row_width = [sum(widths[k] for k in r) + _COL_GAP * (len(r) - 1) for r in order]
    anchor = max(range(len(order)), key=row_width.__getitem__)
    for key in order[anchor]:
        x[key] -= row_width[anchor] / 2
    sequence = [(i, down) for i in range(anchor - 1, -1, -1)]
    sequence += [(i, up) for i in range(anchor + 1, len(order))]
    for i, near in sequence:
        row = order[i]
        wanted = [sum(x[n] for n in near[k]) / len(near[k]) if near[k] else None for k in row]
        known = [w for w in wanted if w is not None]
        placed: list[float] = []
        for j, key in enumerate(row):
            # a node without neighbours there sits right after the previous one
            if placed:
                gap = placed[-1] + (widths[row[j - 1]] + widths[key]) / 2 + _COL_GAP
                want = gap if wanted[j] is None else max(wanted[j], gap)
            elif wanted[j] is None:
                want = (min(known) if known else 0.0) - widths[key] - _COL_GAP
            else:
                want = wanted[j]
            placed.append(want)
        # pushing right only drifts the row; shift it back by the mean displacement
        wants = [w for w in wanted if w is not None]
        drift = (
            sum(placed[j] - w for j, w in enumerate(wanted) if w is not None) / len(wants)
            if wants
            else 0.0
        )
        for key, pos in zip(row, placed):
            x[key] = pos - drift
    return x


def _order_rows(graph: DependencyGraph, rows: dict[str, int]) -> list[list[str]]:
    """Nodes per row (top row first), ordered by barycenter sweeps."""
    n_rows = max(rows.values()) + 1
    by_row: list[list[str]] = [[] for _ in range(n_rows)]
    for key in graph.nodes:  # walk order is a decent start
        by_row[n_rows - 1 - rows[key]].append(key)
    up, down = _neighbours(graph)

    def sweep(order: list[list[str]], neighbours: dict[str, list[str]], indices: range) -> None:
        for i in indices:
            pos = {k: j for r in order for j, k in enumerate(r)}

            def center(k: str, pos: dict[str, int] = pos) -> float:
                near = [pos[n] for n in neighbours[k]]
                return sum(near) / len(near) if near else pos[k]

            order[i].sort(key=center)

    for _ in range(3):
        sweep(by_row, up, range(1, n_rows))
        sweep(by_row, down, range(n_rows - 2, -1, -1))
    return by_row


def layout(
    graph: DependencyGraph,
) -> tuple[dict[str, tuple[float, float, float, float]], float, float]:
    """``({key: (x_center, y_center, width, height)}, figure width, figure height)`` in inches."""
    rows = _rows(graph)
    order = _order_rows(graph, rows)
    sizes = {k: _box_size(n.label_lines()) for k, n in graph.nodes.items()}
    row_heights = [max(sizes[k][1] for k in r) if r else 0 for r in order]
    x = _x_centers(graph, order, {k: size[0] for k, size in sizes.items()})
    left = min(x[k] - sizes[k][0] / 2 for k in x)
    right = max(x[k] + sizes[k][0] / 2 for k in x)
    title_w = min(len(graph.title) + 16, _MAX_TITLE) * _CHAR_W * 1.1
    width = max(right - left + 2 * _COL_GAP, title_w + 2 * _COL_GAP, 4.5)
    offset = (width - (right - left)) / 2 - left  # centre the drawing
    height = sum(row_heights) + _ROW_GAP * (len(order) - 1) + 2 * _COL_GAP + _HEAD
    boxes: dict[str, tuple[float, float, float, float]] = {}
    y_top = height - _HEAD - _COL_GAP
    for r, rh in zip(order, row_heights):
        for key in r:
            w, h = sizes[key]
            boxes[key] = (x[key] + offset, y_top - rh / 2, w, h)
        y_top -= rh + _ROW_GAP
    return boxes, width, height


def draw_matplotlib(graph: DependencyGraph, path: str, fmt: str) -> None:
    """Draw *graph* into *path* as *fmt* (png, svg or pdf); SVG keeps labels as text."""
    import matplotlib
    from matplotlib.figure import Figure
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Patch

    boxes, width, height = layout(graph)
    fig = Figure(figsize=(width, height))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    ax.axis("off")
    ids = {key: f"node{i}" for i, key in enumerate(graph.nodes)}
    for key, node in graph.nodes.items():
        _draw_node(ax, FancyBboxPatch, node, boxes[key], ids[key])
    for src, dst in graph.edges:
        xs, ys, _, hs = boxes[src]
        xd, yd, _, hd = boxes[dst]
        ax.add_patch(
            FancyArrowPatch(
                (xs, ys - hs / 2),
                (xd, yd + hd / 2),
                arrowstyle="-|>",
                mutation_scale=11,
                color="#555555",
                lw=0.9,
                shrinkA=0,
                shrinkB=1,
                zorder=1,
            )
        )
    title = "dependencies of " + graph.title
    if len(title) > _MAX_TITLE:
        title = title[: _MAX_TITLE - 3] + "..."
    fig.text(0.5, 1 - 0.25 / height, title, ha="center", va="center", fontsize=10)
    handles = [Patch(facecolor=c, edgecolor="#555555", label=s) for s, c in STATUS_COLORS.items()]
    fig.legend(
        handles=handles,
        loc="center",
        ncol=4,
        fontsize=8,
        frameon=False,
        bbox_to_anchor=(0.5, 1 - 0.62 / height),
    )
    dpi = min(110.0, _MAX_PIXELS / max(width, height))
    with matplotlib.rc_context({"svg.fonttype": "none", "font.family": "DejaVu Sans"}):
        fig.savefig(path, format=fmt, dpi=dpi, facecolor="white")


def _draw_node(
    ax: Any, box_cls: type, node: Any, box: tuple[float, float, float, float], gid: str
) -> None:
    x, y, w, h = box
    patch = box_cls(
        (x - w / 2, y - h / 2),
        w,
        h,
        boxstyle="round,pad=0,rounding_size=0.08",
        facecolor=STATUS_COLORS[node.status],
        edgecolor="#555555",
        lw=0.9,
        zorder=2,
    )
    patch.set_gid(f"{gid}-box")
    ax.add_patch(patch)
    lines = node.label_lines()
    top = y + (len(lines) - 1) * _LINE_H / 2
    for i, line in enumerate(lines):
        style = (
            {"fontweight": "bold"}
            if i == 0
            else {"fontstyle": "italic"}
            if i == len(lines) - 1
            else {}
        )
        text = ax.text(
            x, top - i * _LINE_H, line, ha="center", va="center", fontsize=9, zorder=3, **style
        )
        text.set_gid(f"{gid}-label-{i}")
