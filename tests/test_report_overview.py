"""One status line per workflow from its ledger, and whether a process still runs it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

from pipekit.job.ledger import JobRecord, SubmissionLedger
from pipekit.report.overview import OverviewCache, overview


def _ledger(path, wtype, states, run=None):
    info = {"family": "Wf", "type": wtype, "task": "Wf()", "branches": len(states) + 2}
    if run:
        info["run"] = run
    ledger = SubmissionLedger(str(path), info)
    for i, state in enumerate(states):
        ledger.jobs[i] = JobRecord(num=i, branches=[i], state=state, submitted=1000.0,
                                   usage={"cpu_s": 7.2})
    ledger.save()
    return ledger


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_counts_progress_and_cpu_come_from_the_ledger(tmp_path):
    _ledger(tmp_path / "l.json", "slurm", ["finished", "finished", "failed", "running"])
    ov = overview(str(tmp_path / "l.json"))
    assert (ov.n_branches, ov.n_done, ov.n_failed, ov.n_active) == (6, 2, 1, 1)
    assert ov.jobs == {"finished": 2, "failed": 1, "running": 1} and ov.cpu_s == 4 * 7.2


def test_a_local_run_is_running_while_its_process_lives_and_stopped_after(tmp_path):
    host = socket.gethostname()
    _ledger(tmp_path / "a.json", "local", ["pending"], run={"pid": os.getpid(), "host": host})
    _ledger(tmp_path / "b.json", "local", ["pending"], run={"pid": _dead_pid(), "host": host})
    assert overview(str(tmp_path / "a.json")).activity == "running"
    assert overview(str(tmp_path / "b.json")).activity == "stopped"


def test_remote_jobs_nobody_polls_are_detached(tmp_path):
    path = tmp_path / "l.json"
    _ledger(path, "slurm", ["running"])
    (tmp_path / "l.json.lock").write_text(f"pid {_dead_pid()} on {socket.gethostname()}\n")
    assert overview(str(path)).activity == "detached"
    (tmp_path / "l.json.lock").write_text(f"pid {os.getpid()} on {socket.gethostname()}\n")
    assert OverviewCache().get(str(path)).activity == "running"


def test_ended_workflows_are_done_or_failed_and_a_broken_ledger_says_so(tmp_path):
    _ledger(tmp_path / "ok.json", "slurm", ["finished"])
    _ledger(tmp_path / "bad.json", "slurm", ["finished", "failed"])
    (tmp_path / "broken.json").write_text("{")
    assert overview(str(tmp_path / "ok.json")).activity == "done"
    assert overview(str(tmp_path / "bad.json")).activity == "failed"
    broken = overview(str(tmp_path / "broken.json"))
    assert broken.activity == "failed" and broken.error
