"""
The run report as one self-contained HTML page (:func:`render_report`): CSS, the SVG pictures
and a few lines of script (sortable tables) are inline, so the file opens anywhere, offline,
and can be mailed or attached to a ticket. Sections: summary, timeline, slowest branches,
failed branches with log tails, histograms of run time and peak memory, requested against used
resources, and what made each output (with provenance on).
"""

from __future__ import annotations

import html
import time
from dataclasses import dataclass, field
from typing import Any, Sequence

from pipekit.report.collect import Attempt, BranchAttempt, WorkflowRun, log_tail
from pipekit.report.provenance import SHOWN
from pipekit.report.summary import right_sizing, summarize
from pipekit.report.svg import QUEUE_COLOR, STATE_COLORS, fmt_duration, histogram, timeline
from pipekit.report.trace import iso_time

__all__ = ["render_report", "OutputRecords"]

#: rows in the slowest-branches table and failed-branch entries shown
N_SLOWEST = 15
N_FAILED = 50


@dataclass
class OutputRecords:
    """Provenance of (some of) the outputs of one workflow, for the last section."""

    label: str
    #: (branch, output path, record or None)
    rows: list[tuple[int, str, dict[str, Any] | None]] = field(default_factory=list)
    n_outputs: int = 0


_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1d2430;background:#f6f7f9}
header{background:#1d2430;color:#fff;padding:18px 28px}header h1{margin:0;font-size:20px}
header p{margin:4px 0 0;color:#c5ccd6;font-size:13px}
nav{padding:8px 28px;background:#e9edf2;font-size:13px}nav a{margin-right:14px;color:#1d4f91}
main{padding:8px 28px 40px;max-width:1400px}section{background:#fff;border:1px solid #dde2e8;
border-radius:6px;padding:14px 18px;margin:16px 0}h2{font-size:16px;margin:0 0 10px}
h3{font-size:14px;margin:14px 0 6px}table{border-collapse:collapse;width:100%;font-size:13px}
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #eceff3;vertical-align:top}
th{background:#f1f3f6;cursor:pointer;white-space:nowrap}td.num,th.num{text-align:right}
.cards{display:flex;flex-wrap:wrap;gap:10px}.card{border:1px solid #dde2e8;border-radius:6px;
padding:8px 14px;min-width:120px}.card b{display:block;font-size:20px}.card span{color:#5b6675;font-size:12px}
.legend span{display:inline-block;margin-right:14px;font-size:12px}.legend i{display:inline-block;
width:12px;height:10px;margin-right:4px;vertical-align:middle}
svg.timeline{width:100%;height:auto;display:block}svg text{font-size:10px;fill:#3b4452}
svg .grid{stroke:#e6e9ee;stroke-width:.5}svg .wf-label{font-weight:600;font-size:11px}
svg .tick{text-anchor:middle;font-size:9px}svg .axis{stroke:#8a94a3}svg .axis-label{text-anchor:middle}
.hists{display:flex;flex-wrap:wrap;gap:16px}.hists figure{margin:0;width:440px}
figcaption{font-size:12px;color:#5b6675}pre{background:#f4f5f7;padding:8px;overflow:auto;
max-height:360px;font-size:12px;margin:6px 0}details{margin:6px 0;border-left:3px solid #d6453d;padding-left:10px}
summary{cursor:pointer}.state-failed{color:#b3261e;font-weight:600}.state-finished{color:#1f7a45}
.empty{color:#5b6675;font-style:italic}.muted{color:#5b6675}code{font-size:12px;word-break:break-all}
"""

# sorts a table by the clicked column (numbers by value); the only script of the page
_JS = """
document.querySelectorAll('table.sortable th').forEach(function (th) {
  th.addEventListener('click', function () {
    var table = th.closest('table'), body = table.tBodies[0], col = th.cellIndex;
    var dir = th.dataset.dir === 'asc' ? -1 : 1;
    th.dataset.dir = dir === 1 ? 'asc' : 'desc';
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = a.cells[col].dataset.v || a.cells[col].textContent;
      var y = b.cells[col].dataset.v || b.cells[col].textContent;
      var nx = parseFloat(x), ny = parseFloat(y);
      if (!isNaN(nx) && !isNaN(ny)) { return (nx - ny) * dir; }
      return x.localeCompare(y) * dir;
    });
    rows.forEach(function (r) { body.appendChild(r); });
  });
});
"""


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _num_cell(value: float | None, text: str) -> str:
    v = "" if value is None else f' data-v="{value:.6g}"'
    return f'<td class="num"{v}>{_e(text)}</td>'


def _mb(value: float | None) -> str:
    return "—" if value is None else (f"{value / 1024:.2f} GB" if value >= 1024 else f"{value:.0f} MB")


def _table(head: Sequence[str], rows: list[str], numeric: set[int] = frozenset()) -> str:
    ths = "".join(f'<th class="num">{_e(h)}</th>' if i in numeric else f"<th>{_e(h)}</th>"
                  for i, h in enumerate(head))
    return (f'<table class="sortable"><thead><tr>{ths}</tr></thead><tbody>'
            + "".join(rows) + "</tbody></table>")


def _summary_section(workflows: Sequence[WorkflowRun], now: float) -> str:
    total = summarize(workflows, now)
    rate = total.success_rate
    cards = [
        (f"{total.n_done}/{total.n_branches}", "branches done"),
        (str(total.branches.get("failed", 0)), "branches failed"),
        (str(total.n_jobs), "jobs"), (str(total.n_attempts), "job attempts"),
        ("—" if rate is None else f"{100 * rate:.1f} %", "attempts succeeded"),
        (fmt_duration(total.cpu_s), "CPU time"), (fmt_duration(total.wall_s), "wall time"),
    ]
    out = ['<section id="summary"><h2>Summary</h2><div class="cards">']
    out += [f'<div class="card"><b>{_e(v)}</b><span>{_e(k)}</span></div>' for v, k in cards]
    out.append("</div>")
    rows = []
    for wf in workflows:
        s = summarize([wf], now)
        reasons = ", ".join(f"{n} {r}" for r, n in s.reasons.most_common()) or "—"
        r = s.success_rate
        rows.append(
            f"<tr><td>{_e(wf.family)}</td><td>{_e(wf.type)}</td>"
            + _num_cell(s.progress, f"{s.n_done}/{s.n_branches}")
            + _num_cell(s.branches.get("failed", 0), str(s.branches.get("failed", 0)))
            + _num_cell(s.n_jobs, str(s.n_jobs)) + _num_cell(s.n_attempts, str(s.n_attempts))
            + _num_cell(r, "—" if r is None else f"{100 * r:.1f} %")
            + _num_cell(s.cpu_s, f"{s.cpu_s / 3600:.3f}") + _num_cell(s.wall_s, fmt_duration(s.wall_s))
            + f"<td>{_e(reasons)}</td><td>{'active' if s.active else 'ended'}</td>"
            + f'<td class="muted"><code>{_e(wf.ledger)}</code></td></tr>')
    out.append("<h3>Workflows</h3>")
    out.append(_table(["workflow", "type", "branches done", "failed", "jobs", "attempts",
                       "success", "CPU h", "wall time", "failures by reason", "state", "ledger"],
                      rows, {2, 3, 4, 5, 6, 7, 8}))
    out.append("</section>")
    return "".join(out)


def _timeline_section(workflows: Sequence[WorkflowRun], now: float) -> str:
    legend = "".join(f'<span><i style="background:{c}"></i>{_e(s)}</span>'
                     for s, c in STATE_COLORS.items() if s != "submitting")
    legend += f'<span><i style="background:{QUEUE_COLOR}"></i>queued</span>'
    return ('<section id="timeline-section"><h2>Timeline</h2>'
            '<p class="muted">One row per job, one bar per attempt: grey while it waited in the '
            'queue, then coloured by its state while it ran. Hover a bar for its details.</p>'
            f'<div class="legend">{legend}</div>{timeline(workflows, now)}</section>')


def _row_cells(wf: WorkflowRun, a: Attempt, r: BranchAttempt) -> str:
    return (f"<td>{_e(wf.family)}</td>" + _num_cell(r.branch, str(r.branch))
            + _num_cell(a.job, str(a.job)) + _num_cell(a.attempt, str(a.attempt))
            + f"<td>{_e(a.host or '—')}</td>"
            + _num_cell(r.wall_s, fmt_duration(r.wall_s))
            + _num_cell(r.cpu_s, fmt_duration(r.cpu_s))
            + _num_cell(r.maxrss_mb, _mb(r.maxrss_mb)))


def _slowest_section(workflows: Sequence[WorkflowRun]) -> str:
    rows = [(wf, a, r) for wf in workflows for a, r in wf.rows if r.wall_s is not None]
    rows.sort(key=lambda x: -(x[2].wall_s or 0))
    body = [f"<tr>{_row_cells(wf, a, r)}<td class='state-{_e(r.state)}'>{_e(r.state)}</td></tr>"
            for wf, a, r in rows[:N_SLOWEST]]
    table = (_table(["workflow", "branch", "job", "attempt", "host", "wall", "CPU", "peak RSS",
                     "state"], body, {1, 2, 3, 5, 6, 7}) if body
             else '<p class="empty">No branch has ended yet.</p>')
    return f'<section id="slowest"><h2>Slowest branches</h2>{table}</section>'


def _failed_section(workflows: Sequence[WorkflowRun]) -> str:
    failed = [(wf, a, r) for wf in workflows for a, r in wf.rows if r.state == "failed"]
    out = [f'<section id="failed"><h2>Failed branches ({len(failed)} attempt(s))</h2>']
    if not failed:
        out.append('<p class="empty">No branch failed.</p></section>')
        return "".join(out)
    states = {id(wf): wf.branch_states() for wf in workflows}
    tails: dict[str, str] = {}
    for wf, a, r in failed[:N_FAILED]:
        now_ok = states[id(wf)].get(r.branch) == "finished"
        head = (f"{wf.family} branch {r.branch} — job {a.job} attempt {a.attempt}"
                + (f" ({a.reason})" if a.reason else "")
                + (f" on {a.host}" if a.host else "") + (" — finished by a later attempt" if now_ok else ""))
        body = [f"<p><b>error:</b> {_e(r.error or a.error or 'unknown')}</p>"]
        if a.exit_code is not None:
            body.append(f"<p class='muted'>exit code {_e(a.exit_code)}"
                        + (f", batch id {_e(a.batch_id)}" if a.batch_id else "") + "</p>")
        if r.traceback:
            body.append(f"<pre>{_e(r.traceback)}</pre>")
        if a.log:
            if a.log not in tails:
                tails[a.log] = log_tail(a.log)
            body.append(f"<p class='muted'>log: <code>{_e(a.log)}</code></p>")
            if tails[a.log]:
                body.append(f"<pre>{_e(tails[a.log])}</pre>")
        out.append(f"<details{'' if now_ok else ' open' if len(out) < 6 else ''}>"
                   f"<summary>{_e(head)}</summary>{''.join(body)}</details>")
    if len(failed) > N_FAILED:
        out.append(f'<p class="muted">... and {len(failed) - N_FAILED} more (see the trace).</p>')
    out.append("</section>")
    return "".join(out)


def _histogram_section(workflows: Sequence[WorkflowRun]) -> str:
    out = ['<section id="histograms"><h2>Run time and peak memory per branch</h2>']
    for wf in workflows:
        walls = [r.wall_s for _, r in wf.rows if r.wall_s is not None]
        rss = [r.maxrss_mb for _, r in wf.rows if r.maxrss_mb is not None]
        out.append(f"<h3>{_e(wf.label)}</h3><div class='hists'>"
                   f"<figure>{histogram(walls, 's', 'run time')}<figcaption>wall-clock time of "
                   "each branch attempt</figcaption></figure>"
                   f"<figure>{histogram(rss, 'MB', 'peak RSS', color='#8c5bd6')}<figcaption>"
                   "peak resident memory of the process while the branch ran</figcaption></figure>"
                   "</div>")
    out.append("</section>")
    return "".join(out)


def _resources_section(workflows: Sequence[WorkflowRun]) -> str:
    remote = [wf for wf in workflows if wf.type != "local"]
    out = ['<section id="resources"><h2>Requested and used resources</h2>']
    if not remote:
        out.append('<p class="empty">Only local workflows: nothing was requested from a batch '
                   'system.</p></section>')
        return "".join(out)
    out.append('<p class="muted">Per job: the largest request of the workflow\'s submissions '
               'against the peak memory and wall time of its ended jobs. The suggestion keeps 20 % '
               '(memory) and 50 % (time) headroom over the largest use.</p>')
    rows = []
    for wf in remote:
        for row in right_sizing(wf):
            fmt = _mb if row.unit == "MB" else fmt_duration
            rows.append(f"<tr><td>{_e(wf.label)}</td><td>{_e(row.resource)}</td>"
                        + _num_cell(row.requested, fmt(row.requested) if row.requested else "—")
                        + _num_cell(row.used_median, fmt(row.used_median))
                        + _num_cell(row.used_p95, fmt(row.used_p95))
                        + _num_cell(row.used_max, fmt(row.used_max))
                        + _num_cell(row.suggestion, fmt(row.suggestion))
                        + f"<td>{_e(row.note)}</td></tr>")
    out.append(_table(["workflow", "resource", "requested", "used: median", "p95", "max",
                       "suggested request", "note"], rows, {2, 3, 4, 5, 6}))
    out.append("</section>")
    return "".join(out)


def _record_text(record: dict[str, Any]) -> str:
    import json

    keys = [k for k, _ in SHOWN if k in record] + sorted(k for k in record if k not in dict(SHOWN))
    labels = dict(SHOWN)
    parts = []
    for k in keys:
        v = record[k]
        if v is None or v == [] or v == {}:
            continue  # not recorded (no git repository, no inputs, ...)
        if k in ("start", "end") and isinstance(v, (int, float)):
            v = iso_time(float(v))
        elif isinstance(v, dict) and "family" in v:  # the task that made it
            v = (f"{v['family']}" + (f" branch {v['branch']}" if v.get("branch") is not None else "")
                 + f", parameters {json.dumps(v.get('params') or {}, sort_keys=True)}")
        elif not isinstance(v, str):
            v = json.dumps(v, sort_keys=True, default=str)
        parts.append(f"{labels.get(k, k)}: {v if len(v) <= 300 else v[:300] + ' ...'}")
    return "\n".join(parts)


def _provenance_section(records: list[OutputRecords] | None) -> str:
    out = ['<section id="provenance"><h2>What made each output</h2>']
    if records is None:
        out.append('<p class="empty">No provenance records: the report was made from ledgers '
                   'alone (--ledger), without the tasks that name the outputs.</p></section>')
        return "".join(out)
    for group in records:
        found = [r for r in group.rows if r[2] is not None]
        out.append(f"<h3>{_e(group.label)}</h3>")
        if not found:
            out.append(f'<p class="empty">None of the {len(group.rows)} outputs looked at has a '
                       "record (provenance off: <code>[core] provenance: True</code> in law.cfg "
                       "switches it on).</p>")
            continue
        out.append(f'<p class="muted">{len(found)} of {len(group.rows)} outputs looked at '
                   f"(of {group.n_outputs}) have a record.</p>")
        for branch, path, record in group.rows:
            if record is not None:
                out.append(f"<details><summary>branch {branch}: <code>{_e(path)}</code></summary>"
                           f"<pre>{_e(_record_text(record))}</pre></details>")
    out.append("</section>")
    return "".join(out)


def render_report(workflows: Sequence[WorkflowRun], title: str,
                  records: list[OutputRecords] | None = None, now: float | None = None) -> str:
    """The whole page for *workflows* (see the module docstring)."""
    now = time.time() if now is None else now
    # in the order they ran, whatever the order of the dependency tree
    workflows = sorted(workflows, key=lambda wf: min(
        (a.submitted or a.started or now for a in wf.attempts), default=now))
    sections = [
        _summary_section(workflows, now), _timeline_section(workflows, now),
        _slowest_section(workflows), _failed_section(workflows), _histogram_section(workflows),
        _resources_section(workflows), _provenance_section(records),
    ]
    nav = "".join(f'<a href="#{i}">{t}</a>' for i, t in (
        ("summary", "Summary"), ("timeline-section", "Timeline"), ("slowest", "Slowest"),
        ("failed", "Failed"), ("histograms", "Histograms"), ("resources", "Resources"),
        ("provenance", "Outputs")))
    from pipekit.__version__ import __version__

    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{_e(title)} — pipekit report</title><style>{_CSS}</style></head><body>"
            f"<header><h1>{_e(title)}</h1><p>pipekit {_e(__version__)} run report, made "
            f"{_e(iso_time(now))} from {len(workflows)} workflow ledger(s)</p></header>"
            f"<nav>{nav}</nav><main>{''.join(sections)}</main><script>{_JS}</script></body></html>\n")
