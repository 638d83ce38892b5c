"""The trace: one TSV row per branch attempt, with the columns docs/report.md documents."""

from __future__ import annotations

import os
import re

from pipekit.report.collect import Attempt, BranchAttempt, WorkflowRun
from pipekit.report.trace import TRACE_COLUMNS, iso_time, write_trace

DOCS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs", "report.md")


def test_the_documented_columns_are_the_columns_in_their_order():
    text = open(DOCS).read()
    section = text.split("## The trace", 1)[1].split("\n## ", 1)[0]
    documented = re.findall(r"^\| `(\w+)` \| (.+) \|$", section, re.M)
    assert documented == [(name, what) for name, what in TRACE_COLUMNS]


def test_one_row_per_branch_attempt_each_on_one_line(tmp_path):
    a1 = Attempt(job=0, attempt=1, branches=[0, 1], state="failed", batch_id="5_0",
                 submitted=1_800_000_000.0, started=1_800_000_002.5, ended=1_800_000_010.0,
                 exit_code=1, reason="oom", host="node7", cpu_s=7.0, maxrss_mb=2100.0,
                 requested={"memory_mb": 2000.0}, log="/jobs/log_0.txt")
    a1.rows = [BranchAttempt(0, "finished", 1_800_000_002.6, 1_800_000_004.0, 1.2, 300.0),
               BranchAttempt(1, "failed", 1_800_000_004.0, 1_800_000_010.0, 5.5, 2100.0,
                             error="MemoryError:\tno\nmore", traceback="...")]
    a2 = Attempt(job=0, attempt=2, branches=[1], state="pending", batch_id="6_0",
                 submitted=1_800_000_020.0)
    a2.rows = [BranchAttempt(1, "pending")]
    wf = WorkflowRun("/l.json", "Wf", "slurm", "Wf()", 2, [a1, a2])
    out = tmp_path / "trace.tsv"
    assert write_trace([wf], str(out)) == 3
    lines = out.read_text().splitlines()
    assert len(lines) == 4
    rows = [dict(zip(lines[0].split("\t"), ln.split("\t"))) for ln in lines[1:]]
    assert all(len(ln.split("\t")) == len(TRACE_COLUMNS) for ln in lines)
    ok, bad, waiting = rows
    assert (ok["branch"], ok["state"], ok["reason"], ok["error"]) == ("0", "finished", "", "")
    assert (bad["state"], bad["reason"], bad["error"]) == ("failed", "oom", "MemoryError: no")
    assert bad["queue_s"] == "2.5" and bad["wall_s"] == "6" and bad["req_memory_mb"] == "2000"
    assert bad["job_maxrss_mb"] == "2100" and bad["host"] == "node7"
    assert ok["submitted"] == iso_time(1_800_000_000.0) == "2027-01-15T08:00:00.000Z"
    assert (waiting["attempt"], waiting["start"], waiting["host"]) == ("2", "", "")
