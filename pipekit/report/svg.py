"""
The pictures of the run report as inline SVG (no script, no network): :func:`timeline` (one row
per job, one bar per job attempt: queue wait, then run time, coloured by state) and
:func:`histogram`. Hovering over a bar shows its details (an SVG ``<title>``).
"""

from __future__ import annotations

import html
import math
import time
from typing import Sequence

from pipekit.report.collect import WorkflowRun
from pipekit.report.trace import iso_time

__all__ = ["timeline", "histogram", "STATE_COLORS", "fmt_duration"]

#: bar colours per state (also used by the page's legend)
STATE_COLORS = {
    "finished": "#2e9e5b",
    "failed": "#d6453d",
    "running": "#3b7dd8",
    "pending": "#e0a526",
    "submitting": "#e0a526",
    "unknown": "#9a8fb5",
}
QUEUE_COLOR = "#cfd5dd"

_W = 1000.0  # drawing width in user units; the SVG scales to the page width
_LEFT = 4.0
_AXIS = 22.0


def fmt_duration(seconds: float | None) -> str:
    """``0.35 s``, ``42 s``, ``3 min 05 s``, ``2 h 07 min``."""
    if seconds is None:
        return "—"
    if seconds < 10:
        return f"{seconds:.2f} s"
    if seconds < 60:
        return f"{seconds:.0f} s"
    m, s = divmod(int(round(seconds)), 60)
    if m < 60:
        return f"{m} min {s:02d} s"
    h, m = divmod(m, 60)
    return f"{h} h {m:02d} min"


def _nice_step(span: float, n: int = 8) -> float:
    raw = max(span / n, 1e-3)
    mag = 10 ** math.floor(math.log10(raw))
    for f in (1, 2, 5, 10):
        if raw <= f * mag:
            return f * mag
    return 10 * mag


def _clock(t: float, span: float) -> str:
    """A tick label: seconds for short timelines, m:ss or h:mm:ss for longer ones."""
    if span < 60:
        return f"{t:.3g}s"
    if span >= 3600:
        return f"{int(t // 3600)}:{int(t % 3600 // 60):02d}:{int(t % 60):02d}"
    return f"{int(t // 60)}:{int(t % 60):02d}"


def timeline(workflows: Sequence[WorkflowRun], now: float | None = None) -> str:
    """The timeline of all job attempts of *workflows* on one time axis."""
    now = time.time() if now is None else now
    groups = [(wf, sorted({a.job for a in wf.attempts})) for wf in workflows if wf.attempts]
    starts = [a.submitted or a.started for wf, _ in groups for a in wf.attempts
              if (a.submitted or a.started) is not None]
    if not starts:
        return '<p class="empty">No job attempts recorded yet.</p>'
    t0 = min(starts)
    t1 = max([now if a.active else (a.ended or a.started or t0) for wf, _ in groups for a in wf.attempts]
             + [t0 + 1e-3])
    span = t1 - t0
    n_rows = sum(len(jobs) for _, jobs in groups)
    label_h = 14.0
    row_h = max(0.1, min(12.0, 700.0 / max(1, n_rows)))
    height = _AXIS + sum(label_h + len(jobs) * row_h for _, jobs in groups) + 6
    sx = (_W - _LEFT - 6) / span
    n_attempts = sum(len(wf.attempts) for wf, _ in groups)
    out = [f'<svg id="timeline" class="timeline" viewBox="0 0 {_W:.0f} {height:.1f}" role="img" '
           f'aria-label="timeline of {n_attempts} job attempts">']
    step = _nice_step(span)
    tick = 0.0
    while tick <= span + 1e-9:
        x = _LEFT + tick * sx
        anchor = ' style="text-anchor:start"' if tick == 0 else ""
        out.append(f'<line class="grid" x1="{x:.2f}" y1="{_AXIS - 4}" x2="{x:.2f}" y2="{height:.1f}"/>'
                   f'<text class="tick" x="{x:.2f}" y="{_AXIS - 8}"{anchor}>{_clock(tick, span)}</text>')
        tick += step
    y = _AXIS
    for wi, (wf, jobs) in enumerate(groups):
        out.append(f'<text class="wf-label" x="{_LEFT}" y="{y + label_h - 3:.1f}">'
                   f'{html.escape(wf.label)} — {len(jobs)} job(s), {len(wf.attempts)} attempt(s)</text>')
        y += label_h
        row_of = {job: i for i, job in enumerate(jobs)}
        gap = row_h * 0.15 if row_h > 2 else 0.0
        for a in wf.attempts:
            top = y + row_of[a.job] * row_h + gap
            h = max(0.1, row_h - 2 * gap)
            start = a.submitted if a.submitted is not None else a.started
            run_start = a.started
            end = now if a.active else (a.ended or a.started or start)
            tip = (f"{wf.family} job {a.job} attempt {a.attempt}: {a.state}"
                   + (f" ({a.reason})" if a.state == "failed" and a.reason else "")
                   + f"\nbranches {_ranges(a.branches)}"
                   + (f"\nid {a.batch_id}" if a.batch_id else "")
                   + (f" on {a.host}" if a.host else "")
                   + f"\nsubmitted {iso_time(a.submitted)}"
                   + f"\nqueued {fmt_duration(a.queue_s)}, ran {fmt_duration(a.wall_s)}"
                   + (f", peak RSS {a.maxrss_mb:.0f} MB" if a.maxrss_mb is not None else ""))
            parts = [f'<g class="attempt" data-workflow="{wi}" data-job="{a.job}" '
                     f'data-attempt="{a.attempt}" data-state="{html.escape(a.state)}">'
                     f'<title>{html.escape(tip)}</title>']
            qend = run_start if run_start is not None else end
            if start is not None and qend is not None and qend > start:
                parts.append(f'<rect class="queue" x="{_LEFT + (start - t0) * sx:.2f}" y="{top:.2f}" '
                             f'width="{max(0.5, (qend - start) * sx):.2f}" height="{h:.2f}" '
                             f'fill="{QUEUE_COLOR}"/>')
            if run_start is not None and end is not None:
                color = STATE_COLORS.get(a.state, STATE_COLORS["unknown"])
                parts.append(f'<rect class="run" x="{_LEFT + (run_start - t0) * sx:.2f}" y="{top:.2f}" '
                             f'width="{max(0.8, (end - run_start) * sx):.2f}" height="{h:.2f}" '
                             f'fill="{color}"/>')
            elif start is not None:  # never started: a thin mark, so that every attempt shows
                color = STATE_COLORS.get(a.state, STATE_COLORS["unknown"])
                parts.append(f'<rect class="run" x="{_LEFT + (start - t0) * sx:.2f}" y="{top:.2f}" '
                             f'width="0.8" height="{h:.2f}" fill="{color}"/>')
            parts.append("</g>")
            out.append("".join(parts))
        y += len(jobs) * row_h
    out.append("</svg>")
    return "\n".join(out)


def _ranges(branches: list[int]) -> str:
    from pipekit.ranges import join_ranges

    return join_ranges(branches, max_ranges=6) if branches else "—"


def histogram(values: Sequence[float], unit: str, label: str, bins: int = 20,
              color: str = "#3b7dd8") -> str:
    """A bar chart of *values* in *bins* equal bins, labelled with *label* [*unit*]."""
    values = [v for v in values if v is not None]
    if not values:
        return f'<p class="empty">No {html.escape(label)} measured.</p>'
    lo, hi = min(values), max(values)
    if hi - lo < 1e-9:
        lo, hi = lo - 0.5 * max(abs(lo), 1e-3), hi + 0.5 * max(abs(hi), 1e-3)
    width = (hi - lo) / bins
    counts = [0] * bins
    for v in values:
        counts[min(bins - 1, int((v - lo) / width))] += 1
    w, h, left, bottom = 420.0, 170.0, 34.0, 30.0
    top_count = max(counts)
    bw = (w - left - 6) / bins
    out = [f'<svg class="histogram" viewBox="0 0 {w:.0f} {h:.0f}" role="img" '
           f'aria-label="histogram of {html.escape(label)}">']
    for i, c in enumerate(counts):
        bh = (h - bottom - 10) * c / top_count
        x = left + i * bw
        tip = f"{lo + i * width:.3g}–{lo + (i + 1) * width:.3g} {unit}: {c}"
        out.append(f'<rect x="{x:.2f}" y="{h - bottom - bh:.2f}" width="{max(0.5, bw - 1):.2f}" '
                   f'height="{bh:.2f}" fill="{color}"><title>{html.escape(tip)}</title></rect>')
    out.append(f'<line class="axis" x1="{left}" y1="{h - bottom}" x2="{w - 6}" y2="{h - bottom}"/>')
    for frac in (0.0, 0.5, 1.0):
        x = left + frac * (w - left - 6)
        anchor = {0.0: "start", 1.0: "end"}.get(frac, "middle")
        out.append(f'<text class="tick" x="{x:.1f}" y="{h - bottom + 13}" '
                   f'style="text-anchor:{anchor}">{lo + frac * (hi - lo):.3g}</text>')
    out.append(f'<text class="tick" x="4" y="14">{top_count}</text>')
    out.append(f'<text class="axis-label" x="{w / 2:.0f}" y="{h - 4}">{html.escape(label)} [{unit}]'
               f' — {len(values)} values</text>')
    out.append("</svg>")
    return "".join(out)
