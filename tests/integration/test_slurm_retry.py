"""
Adaptive retries on the real single-node Slurm of ``tests/infra/slurm.sh``, which enforces
``--mem`` (cgroups, or jobacct_gather's OverMemoryKill) and time limits: a job that runs out of
memory is recognised as ``oom`` and resubmitted with more memory, one that runs out of time as
``walltime`` and resubmitted with a longer limit; both then succeed, and ``--print-status``
shows each attempt with its reason and what it asked for.
"""

from __future__ import annotations

import pytest
from slurm_helpers import FAST, ledger_jobs, run_pipekit, slurm, start_cluster

pytestmark = [pytest.mark.slurm, pytest.mark.usefixtures("slurm_cluster")]


@pytest.fixture
def memory_enforced(require_service):
    """
    The cluster enforces ``--mem``: started (or reconfigured) again right before the test, since
    tests/infra/slurm.sh of an older checkout, run by another session on a shared machine,
    writes a configuration without memory enforcement.
    """
    reason = start_cluster(accounting=False)
    require_service("slurm", reason is None, reason or "")
    config = slurm("scontrol", "show", "config").stdout
    enforced = "task/cgroup" in config or "OverMemoryKill" in config
    require_service("Slurm memory enforcement", enforced,
                    "the cluster neither constrains memory with task/cgroup nor kills with "
                    "JobAcctGatherParams=OverMemoryKill (tests/infra/slurm.sh start sets one)")


def sbatch_values(shims, option):
    return [arg.split("=", 1)[1] for call in shims.calls("sbatch") for arg in call.split()
            if arg.startswith(f"--{option}=")]


@pytest.mark.timeout(240)
def test_a_job_out_of_memory_is_resubmitted_with_more_memory_and_succeeds(tmp_path, out, shims,
                                                                         memory_enforced):
    (tmp_path / "law.cfg").write_text("[slurm]\nmemory: 200M\n")
    proc = run_pipekit(tmp_path, "Hungry", "--out", str(out), "--n", "1", "--megabytes", "250",
                       "--retries", "1", "--retry-memory-factor", "2", *FAST, shims=shims,
                       timeout=200)
    assert proc.returncode == 0, proc.stdout
    assert "job 0 (branches 0) failed (oom): " in proc.stdout
    assert "attempt 2 after oom: memory 200M -> 400M" in proc.stdout
    assert sbatch_values(shims, "mem") == ["200M", "400M"]
    job = ledger_jobs(out)[0]
    assert (job["state"], job["attempt"], job["resources"]) == ("finished", 2, {"memory": "400M"})
    assert (job["history"][0]["reason"], job["history"][0]["resources"]) == ("oom", {"memory": "200M"})
    result = (out / "char_0.json").read_text()
    assert '"seen": "attempt 2 after oom"' in result  # what slurm_job_config saw

    status = run_pipekit(tmp_path, "Hungry", "--out", str(out), "--n", "1", "--megabytes", "250",
                         "--print-status", "0,1")
    assert "attempts: 1 oom [memory 200M], 2 finished [memory 400M]" in status.stdout, status.stdout


@pytest.mark.timeout(420)
def test_a_job_out_of_time_is_resubmitted_with_a_longer_limit_and_succeeds(tmp_path, out, shims):
    # Slurm counts time limits in minutes and checks them every 30 s: a 100 s branch outlives
    # a 1-minute limit (killed after 60 to 90 s) and fits in the doubled one (120 s)
    (tmp_path / "law.cfg").write_text("[slurm]\nwalltime: 1m\n")
    proc = run_pipekit(tmp_path, "Hungry", "--out", str(out), "--n", "1", "--sleep", "100",
                       "--retries", "1", "--retry-walltime-factor", "2", *FAST, shims=shims,
                       timeout=400)
    assert proc.returncode == 0, proc.stdout
    assert "job 0 (branches 0) failed (walltime): " in proc.stdout
    assert "attempt 2 after walltime: time limit 1m -> 2m" in proc.stdout
    assert sbatch_values(shims, "time") == ["1", "2"]
    job = ledger_jobs(out)[0]
    assert (job["state"], job["attempt"], job["history"][0]["reason"]) == ("finished", 2, "walltime")
    assert job["history"][0]["exit_code"] == 143  # SIGTERM at the limit: the job said so
    assert '"seen": "attempt 2 after walltime"' in (out / "char_0.json").read_text()
