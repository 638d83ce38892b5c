"""
The HTML run report: self-contained, escaped, and — in a real headless Chromium (Debian's
``chromium``; tests/infra/chromium.sh) — loading without console errors, with one timeline bar
per job attempt, sortable tables and a non-empty screenshot.
"""

from __future__ import annotations

import re
import struct
import time

import pytest
from chromium_helpers import chromium_path, open_page
from report_helpers import analysis, run_cli

from pipekit.job.ledger import JobRecord, SubmissionLedger
from pipekit.report import load_workflow, render_report


@pytest.fixture
def browser(require_service):
    require_service("chromium", chromium_path() is not None, "tests/infra/chromium.sh start")


@pytest.fixture
def retried_report(tmp_path):
    """A local workflow whose branches 2 and 4 failed once, re-run; its report and ledger."""
    work = analysis(tmp_path)
    run_cli(["run", "report_tasks.Squares", "--fail", "2,4", "--workers", "2", "--sleep", "0.05"], work)
    (work / "data" / "fixed").write_text("")
    assert run_cli(["run", "report_tasks.Squares", "--fail", "2,4"], work).returncode == 0
    proc = run_cli(["report", "report_tasks.Squares", "-o", "report.html"], work)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return work / "report.html"


def test_the_report_needs_nothing_from_the_network_and_escapes_what_tasks_said(retried_report):
    text = retried_report.read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text)
    assert "url(" not in text and "@import" not in text
    assert "&lt;b&gt;bad&lt;/b&gt;" in text and "<b>bad</b>" not in text
    assert "ValueError: branch 2" in text and "finished by a later attempt" in text


def test_the_report_opens_in_chromium_without_errors_with_one_bar_per_attempt(
        browser, retried_report, tmp_path):
    with open_page(width=1300, height=900) as page:
        page.goto(retried_report.as_uri())
        assert page.errors() == []
        assert page.requests() == []  # nothing loaded besides the page itself
        bars = page.evaluate("Array.from(document.querySelectorAll('#timeline g.attempt'))"
                             ".map(g => g.dataset.job + '/' + g.dataset.attempt)")
        assert sorted(bars) == ["0/1", "1/1", "2/1", "2/2", "3/1", "4/1", "4/2", "5/1"]
        colours = page.evaluate("Array.from(document.querySelectorAll('#timeline g.attempt'))"
                                ".map(g => g.dataset.state)")
        assert colours.count("failed") == 2 and colours.count("finished") == 6
        # the slowest-branches table sorts by a column when its header is clicked
        page.evaluate("document.querySelector('#slowest th:nth-child(2)').click()")
        order = page.evaluate("Array.from(document.querySelectorAll('#slowest tbody tr'))"
                              ".map(r => +r.cells[1].textContent)")
        assert order == sorted(order)
        assert page.errors() == []
        shot = tmp_path / "report.png"
        size = page.screenshot(str(shot))
    head = shot.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", head[16:24])
    assert width >= 1000 and height > 1500  # the whole page, not a blank window
    assert size > 30_000  # a blank PNG of that size compresses to a few kB


def _big_ledger(path, n_jobs: int) -> None:
    ledger = SubmissionLedger(str(path), {"family": "Big", "type": "slurm", "task": "Big()",
                                          "branches": n_jobs * 2})
    t0 = time.time() - 3600
    for i in range(n_jobs):
        start = t0 + i * 0.3
        state = "failed" if i % 97 == 0 else "finished"
        rec = JobRecord(num=i, branches=[2 * i, 2 * i + 1], state=state, attempt=1, tag="t",
                        job_id=f"9_{i}", submitted=t0, ended=start + 30, exit_code=int(state == "failed"),
                        reason="oom" if state == "failed" else None,
                        usage={"host": f"node{i % 40}", "start": start, "end": start + 30,
                               "cpu_s": 28.0, "maxrss_mb": 800.0 + i % 300})
        ledger.jobs[i] = rec
    ledger.next_job_num = n_jobs
    ledger.submissions["t"] = {"requested": {"memory_mb": 2000.0, "walltime_s": 3600.0}}
    ledger.save()


def test_a_report_of_10000_jobs_is_made_in_seconds_and_loads(browser, tmp_path):
    path = tmp_path / "ledger.json"
    _big_ledger(path, 10_000)
    t0 = time.perf_counter()
    wf = load_workflow(str(path))
    html = render_report([wf], "Big()")
    took = time.perf_counter() - t0
    assert took < 10, f"{took:.1f} s"
    out = tmp_path / "big.html"
    out.write_text(html)
    assert out.stat().st_size < 15_000_000
    with open_page() as page:
        page.goto(out.as_uri())
        assert page.errors() == []
        assert page.evaluate("document.querySelectorAll('#timeline g.attempt').length") == 10_000
        reasons = page.evaluate("document.querySelector('#summary tbody').textContent")
        assert "104 oom" in reasons


def test_the_summary_counts_branches_attempts_and_cpu(tmp_path):
    path = tmp_path / "ledger.json"
    _big_ledger(path, 100)
    text = render_report([load_workflow(str(path))], "Big()")
    cards = dict((k, v) for v, k in re.findall(r"<b>([^<]*)</b><span>([^<]*)</span>", text))
    assert cards["branches done"] == "196/200" and cards["job attempts"] == "100"
    assert cards["attempts succeeded"] == "98.0 %"
    assert cards["CPU time"] == "46 min 40 s"  # 100 jobs of 28 s
    assert "<title>Big() — pipekit report</title>" in text
