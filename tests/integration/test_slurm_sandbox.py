"""
A sandboxed task as a branch of a Slurm workflow, against the real single-node Slurm: each
branch runs in a Slurm job, and inside that job in its bash sandbox (issue #6 meets issue #4).
"""

from __future__ import annotations

import json

import pytest
from slurm_helpers import run_pipekit

pytestmark = [pytest.mark.slurm, pytest.mark.timeout(180), pytest.mark.usefixtures("slurm_cluster")]


def test_sandboxed_branches_run_in_slurm_jobs_inside_their_bash_sandbox(tmp_path, out, shims):
    text = "spaces and 'quotes'; $(touch PWNED)"
    proc = run_pipekit(tmp_path, "SandboxedChars", "--out", str(out), "--n", "3", "--text", text,
                       "--poll-interval", "0.5s", shims=shims)
    assert proc.returncode == 0, proc.stdout
    assert len(shims.calls("sbatch")) == 1
    results = [json.loads((out / f"sandboxed_{i}.json").read_text()) for i in range(3)]
    # the branch ran inside the sandbox (the script's variable is set) inside a Slurm job
    assert all(r["value"] == "set by slurm_sandbox_env.sh" for r in results)
    assert all(r["slurm_job"] for r in results)
    assert all(r["text"] == text for r in results)
    assert not list(tmp_path.rglob("PWNED"))
