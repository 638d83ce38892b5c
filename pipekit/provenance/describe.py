"""
Records as people read them: :func:`describe` gives the lines ``pipekit provenance PATH`` and
``--print-output D,provenance`` print for one output, :func:`summarize_branches` the lines
``--print-status`` prints for a workflow.
"""

from __future__ import annotations

import time
from typing import Any

__all__ = ["describe", "summarize_branches", "format_time"]

#: inputs listed one by one before the rest is summed up
MAX_INPUTS = 10


def format_time(t: float | None) -> str:
    if not t:
        return "?"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t))


def _size(n: int | None) -> str:
    if n is None:
        return "? B"
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000.0  # type: ignore[assignment]
    return f"{n} B"


def _mtime(m: int | None) -> str:
    if m is None:
        return ""
    return format_time(m / 1e9 if m > 10**12 else float(m))


def describe(record: Any, verdict: Any = None, indent: str = "") -> list[str]:
    """The lines describing *record* (a :class:`~pipekit.provenance.record.Record`), with the
    status from *verdict* first when given."""
    rows: list[tuple[str, str]] = []
    if verdict is not None:
        rows.append(("status", verdict.text()))
    rows.append(("task", f"{record.task_repr()}  [{record.module}.{record.task_class}]"))
    took = f" ({record.end - record.start:.2f} s)" if record.end and record.start else ""
    rows.append(("made", f"{format_time(record.start)} to {format_time(record.end)}{took} on "
                         f"{record.host or '?'} by {record.user or '?'}"))
    if record.job:
        job = record.job
        what = f"{job.get('backend', 'batch')} job {job.get('job_id', '?')}"
        if "job_num" in job:
            what += f" (job {job['job_num']}, attempt {job.get('attempt', 1)})"
        rows.append(("job", what))
    code = ", ".join(f"{name.rsplit('.', 1)[-1]} {h}" for name, h in record.code.items())
    rows.append(("code", code or "(no analysis classes)"))
    if record.version is not None:
        rows.append(("version", record.version))
    git = record.git
    if git:
        dirty = ""
        if git.get("dirty"):
            changes = git.get("changes") or []
            dirty = f" (dirty: {', '.join(changes[:5])}{' ...' if len(changes) > 5 else ''})"
        rows.append(("git", f"{git.get('root')} at {str(git.get('commit'))[:12]}{dirty}"))
    else:
        rows.append(("git", "(not in a git repository)"))
    sw = record.software
    rows.append(("software", ", ".join(f"{k} {v}" for k, v in sw.items())))
    n = len(record.inputs)
    rows.append(("inputs", f"{n} file{'s' if n != 1 else ''}" if n else "none"))
    lines = [f"{indent}{k:<9} {v}" for k, v in rows]
    for inp in record.inputs[:MAX_INPUTS]:
        st = inp.state
        extra = f", checksum {st.checksum}" if st.checksum else ""
        lines.append(f"{indent}  {inp.key} ({_size(st.size)}, {_mtime(st.mtime)}{extra})")
    if n > MAX_INPUTS:
        lines.append(f"{indent}  ... {n - MAX_INPUTS} more")
    return lines


def summarize_branches(verdicts: dict[int, Any], n_selected: int) -> list[str]:
    """``provenance: 120 outdated, 1880 current, 0 unknown`` and one line per distinct reason
    (with the branches it concerns, as ranges)."""
    from pipekit.ranges import join_ranges

    counts = {"outdated": 0, "current": 0, "unknown": 0}
    groups: dict[tuple[str, str], list[int]] = {}
    for b, v in verdicts.items():
        counts[v.status if v.status in counts else "unknown"] += 1
        if v.status in ("outdated", "unknown"):
            groups.setdefault((v.status, "; ".join(v.reasons) or "no record"), []).append(b)
    lines = [f"provenance: {counts['outdated']} outdated, {counts['current']} current, "
             f"{counts['unknown']} unknown (of {len(verdicts)} present)"]
    for (status, reason), branches in sorted(groups.items(), key=lambda g: (g[0][0], -len(g[1]))):
        lines.append(f"  {status} {join_ranges(sorted(branches), max_ranges=6)}: {reason}")
    return lines
