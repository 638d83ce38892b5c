"""
Grid credentials and the real Slurm of ``tests/infra/slurm.sh``: a job gets a private copy of
the submitter's X.509 proxy (test CA of tests/infra/gridca.sh) through X509_USER_PROXY, and a
required proxy that expired stops the submission before sbatch runs.
"""

from __future__ import annotations

import json
import os

import grid_helpers
import pytest
from slurm_helpers import FAST, ledger_jobs, run_pipekit

pytestmark = [pytest.mark.slurm, pytest.mark.timeout(180),
              pytest.mark.usefixtures("slurm_cluster")]


@pytest.fixture
def grid(grid_services, monkeypatch):
    grid_services("gridca")
    for key, value in grid_helpers.grid_env().items():
        if key.startswith(("X509_", "VOMS_")):
            monkeypatch.setenv(key, value)
    return monkeypatch


def test_slurm_job_reads_its_private_copy_of_the_proxy(tmp_path, out, shims, grid):
    proc = run_pipekit(tmp_path, "ProxyChars", "--out", str(out), "--n", "2", *FAST, shims=shims)
    assert proc.returncode == 0, proc.stdout
    job = ledger_jobs(out)[1]
    seen = json.loads((out / "char_1.json").read_text())
    copy = os.path.join(os.path.dirname(job["log"]), "x509up")
    assert seen == {"branch": 1, "proxy": copy, "identity": "/DC=org/DC=pipekit-test/CN=Test User"}
    assert oct(os.stat(copy).st_mode & 0o777) == "0o600"


def test_expired_required_proxy_stops_before_sbatch(tmp_path, out, shims, grid):
    grid.setenv("X509_USER_PROXY", grid_helpers.proxy("x509up_expired"))
    (tmp_path / "law.cfg").write_text("[slurm]\ncredentials = x509\n")
    proc = run_pipekit(tmp_path, "ProxyChars", "--out", str(out), "--n", "2", *FAST, shims=shims)
    assert proc.returncode == 40
    assert (f"the X.509 proxy {grid_helpers.proxy('x509up_expired')} (from $X509_USER_PROXY) "
            "expired ") in proc.stdout
    assert "renew it with: voms-proxy-init --rfc --valid 24:00" in proc.stdout
    assert shims.calls("sbatch") == [] and ledger_jobs(out) == {}
