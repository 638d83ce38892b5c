"""
A LocalWorkflow whose branch outputs live on XRootD, run with ``pipekit run`` as a user does:
it completes, its outputs are on the server, and ``--print-status`` checks all branches with one
directory listing (counted from the request log that ``[logging] pipekit.target.remote: DEBUG``
prints).
"""

from __future__ import annotations

import json
import shutil
import sys
import uuid
from pathlib import Path

import pytest
from storage_helpers import XRD_DATA, backend_missing

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from cli_helpers import run_cli, write  # noqa: E402

pytestmark = [pytest.mark.storage, pytest.mark.timeout(180)]

TASKS = """
    import luigi
    import pipekit as law

    law.contrib.load("wlcg")


    class Squares(law.LocalWorkflow):
        n = luigi.IntParameter(default=30)

        def create_branch_map(self):
            return list(range(self.n))

        def output(self):
            return law.wlcg.WLCGFileTarget(f"/squares/b{self.branch}.json")

        def run(self):
            self.output().dump({"square": self.branch_data ** 2})
"""


def test_workflow_on_xrootd_completes_and_status_lists_once(tmp_path, require_service):
    reason = backend_missing("xrootd")
    require_service("xrootd", reason is None, reason or "")
    sub = f"wf{uuid.uuid4().hex[:8]}"
    work = tmp_path / "work"
    write(work / "tasks.py", TASKS)
    write(
        work / "law.cfg",
        f"""
        [wlcg_fs]
        base: root://localhost:1094//pipekit-tests/{sub}

        [logging]
        pipekit.target.remote: DEBUG
    """,
    )
    try:
        check_workflow(work, sub)
    finally:
        shutil.rmtree(XRD_DATA / "pipekit-tests" / sub, ignore_errors=True)


def check_workflow(work: Path, sub: str) -> None:
    run = run_cli(["run", "tasks.Squares", "--workers", "2"], work, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    out = XRD_DATA / "pipekit-tests" / sub / "squares"
    assert sorted(p.name for p in out.iterdir()) == sorted(f"b{i}.json" for i in range(30))
    assert json.loads((out / "b7.json").read_text()) == {"square": 49}

    status = run_cli(["run", "tasks.Squares", "--print-status", "0,1"], work, timeout=60)
    assert status.returncode == 0, status.stdout + status.stderr
    requests = [
        line for line in status.stdout.splitlines() if line.startswith(("listdir ", "stat "))
    ]
    assert requests == [f"listdir root://localhost:1094//pipekit-tests/{sub}/squares"]
    assert "existent (30/30)" in status.stdout and "30 present, 0 missing" in status.stdout

    again = run_cli(["run", "tasks.Squares"], work, timeout=60)
    assert again.returncode == 0
    assert [line for line in again.stdout.splitlines() if line.startswith("upload ")] == []
