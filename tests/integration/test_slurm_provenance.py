"""
Provenance of branches run in Slurm jobs (the real single-node cluster of
``tests/infra/slurm.sh``): the job node writes the record, and it is the same record a local
run writes, plus the job that made it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from slurm_helpers import FAST, pipekit_env, run_pipekit

pytestmark = [pytest.mark.slurm, pytest.mark.timeout(180), pytest.mark.usefixtures("slurm_cluster")]

CFG = "[core]\nprovenance: True\n[luigi_core]\nlocal_scheduler: True\n"


def store(out: Path) -> dict:
    return json.loads((out / ".pipekit-provenance").read_text())


def context_of(data: dict, name: str) -> dict:
    return data["contexts"][data["outputs"][name][0]]


def test_a_branch_run_in_a_slurm_job_writes_the_record_a_local_run_writes(tmp_path, out):
    (tmp_path / "law.cfg").write_text(CFG)
    common = ("--out", str(out), "--n", "4")
    local = run_pipekit(tmp_path, "Chars", *common, "--workflow", "local", "--branches", "0,1")
    assert local.returncode == 0, local.stdout
    remote = run_pipekit(tmp_path, "Chars", *common, *FAST)
    assert remote.returncode == 0, remote.stdout

    data = store(out)
    assert sorted(data["outputs"]) == [f"char_{i}.json" for i in range(4)]
    here, there = context_of(data, "char_0.json"), context_of(data, "char_2.json")
    job = there.pop("job")
    other_job = context_of(data, "char_3.json").pop("job")
    assert other_job["job_id"] != job["job_id"]  # one job per branch here
    assert here.pop("job") is None
    assert here == there  # task, parameters, code, git, software, host, user: the same
    assert job["backend"] == "slurm" and job["job_num"] in (0, 1) and job["attempt"] == 1
    host = json.loads((out / "char_2.json").read_text())["host"]
    assert there["host"] == host
    for name in ("char_0.json", "char_2.json"):
        entry = data["outputs"][name]
        assert entry[1] == int(name[5]) and entry[6] == []  # the branch; no inputs
        assert entry[4] == (out / name).stat().st_size

    status = run_pipekit(tmp_path, "Chars", *common, "--print-status", "0")
    assert "provenance: 0 outdated, 4 current, 0 unknown (of 4 present)" in status.stdout

    shown = subprocess.run([str(Path(sys.executable).parent / "pipekit"), "provenance",
                            str(out / "char_2.json")], cwd=tmp_path, env=pipekit_env(),
                           capture_output=True, text=True, timeout=60)
    assert shown.returncode == 0, shown.stderr
    assert f"job       slurm job {job['job_id']} (job {job['job_num']}, attempt 1)" in shown.stdout
    assert "status    current" in shown.stdout
