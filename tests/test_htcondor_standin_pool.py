"""
HTCondorWorkflow through the real job loop against a STAND-IN for an HTCondor pool.

No HTCondor pool can exist on these machines (no daemons in any package registry), so this file
holds the one test that uses stand-in ``condor_submit`` / ``condor_q`` / ``condor_history`` /
``condor_rm`` executables (tests/htcondor_standin_pool.py: a queue in a JSON file, jobs run as
local processes, the submit description read by the official HTCondor bindings, constraints
evaluated by the official classad library). It shows that the manager's commands and the loop
fit together; it is not evidence of how a real schedd behaves. The primary evidence for the
descriptions is test_htcondor_submit.py, which checks them with HTCondor's own parser.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import htcondor_standin_pool as standin
import pytest

pytestmark = [pytest.mark.htcondor, pytest.mark.timeout(180), pytest.mark.usefixtures("htcondor_bindings")]


TASKS = '''
import json
import os
import time
import luigi
import pipekit as law
law.contrib.load("htcondor")


class Chars(law.htcondor.HTCondorWorkflow, law.LocalWorkflow):
    out = luigi.Parameter()
    n = luigi.IntParameter(default=8)
    fail_once = luigi.IntParameter(default=-1)
    sleep = luigi.FloatParameter(default=0.0)

    def create_branch_map(self):
        return {i: chr(97 + i) for i in range(self.n)}

    def output(self):
        return law.LocalFileTarget(os.path.join(self.out, f"char_{self.branch}.json"))

    def run(self):
        marker = os.path.join(self.out, f".tried_{self.branch}")
        first = not os.path.exists(marker)
        open(marker, "a").close()
        time.sleep(self.sleep)
        if self.branch == self.fail_once and first:
            raise RuntimeError(f"branch {self.branch} fails on its first attempt")
        self.output().dump({"char": self.branch_data,
                            "cluster": os.environ["LAW_HTCONDOR_JOB_CLUSTER"]})
'''


@pytest.fixture
def standin_pool(tmp_path):
    """A stand-in for an HTCondor pool (see the module docstring): (bin dir, state dir)."""
    bin_dir, state = tmp_path / "standin" / "bin", tmp_path / "standin" / "state"
    standin.install(bin_dir, state)
    yield bin_dir, state
    standin.kill_all(state)


def pipekit(cwd: Path, bin_dir: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LAW_", "PIPEKIT_"))}
    env["PATH"] = f"{bin_dir}:{os.path.dirname(sys.executable)}:{env.get('PATH', '/usr/bin:/bin')}"
    env["PYTHONPATH"] = str(cwd)
    env["LAW_HOME"] = str(cwd / "law-home")  # the ledger registry, not in the user's ~/.law
    return subprocess.run([os.path.join(os.path.dirname(sys.executable), "pipekit"), "run",
                           "standin_tasks.Chars", *args], cwd=cwd, env=env, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)


def test_standin_pool_runs_the_workflow_with_one_submit_one_query_per_cycle_and_holds_retried(
        tmp_path, standin_pool):
    bin_dir, state = standin_pool
    (tmp_path / "standin_tasks.py").write_text(textwrap.dedent(TASKS))
    out = tmp_path / "out"
    # the pool holds job 5 on its first start, as a memory-limit policy would
    (state / "hold.json").write_text(json.dumps({
        "job_num": 5, "code": 34,
        "reason": "Error from slot1@node7: memory usage exceeded request_memory"}))
    # the first condor_submit queues its jobs but its answer is lost
    (state / "submit_fails.json").write_text("{}")

    t0 = time.time()
    proc = pipekit(tmp_path, bin_dir, "--out", str(out), "--fail-once", "3", "--parallel-jobs",
                   "3", "--poll-interval", "0.2s", "--retries", "2")
    wall = time.time() - t0
    assert proc.returncode == 0, proc.stdout
    written = {p.name: json.loads(p.read_text()) for p in out.glob("char_*.json")}
    assert sorted(written) == [f"char_{i}.json" for i in range(8)]

    # one condor_submit for all 8 jobs, then resubmissions of the failed and the held job only
    submits = standin.calls(state, "condor_submit")
    assert 2 <= len(submits) <= 3
    first = {w["cluster"] for n, w in written.items() if n not in ("char_3.json", "char_5.json")}
    assert first == {"100"}, "the other six ran in the first cluster"
    assert written["char_3.json"]["cluster"] != "100" != written["char_5.json"]["cluster"]
    assert "submitted 8 job(s) for branches 0-7 to HTCondor (first job id 100.0" in proc.stdout
    # ... found again by its tag instead of being submitted twice
    tag_queries = [a for a in standin.calls(state, "condor_q") if "PipekitTag ==" in " ".join(a)]
    assert len(tag_queries) == 1
    assert "failed (oom): held by HTCondor: Error from slot1@node7: memory usage exceeded " \
           "request_memory (hold code 34)" in proc.stdout
    assert "branch 3 fails on its first attempt" in proc.stdout
    # the held job was removed, so a condor_release cannot run it next to its resubmission
    assert any("100.5" in args for args in standin.calls(state, "condor_rm"))

    # one condor_q per poll cycle for all jobs, by cluster id
    queries = [a for a in standin.calls(state, "condor_q")
               if "-factory" not in a and a not in tag_queries]
    assert 1 <= len(queries) <= wall / 0.2 + 2
    constraints = {a[a.index("-constraint") + 1] for a in queries}
    assert all(c.replace("ClusterId == ", "").replace(" || ", "").isdigit() for c in constraints)
    assert standin.calls(state, "condor_history"), "jobs that left the queue are asked there"

    ledger = json.loads(next(out.glob("pipekit_htcondor_Chars_*/ledger.json")).read_text())
    jobs = {int(k): v for k, v in ledger["jobs"].items()}
    assert {j["state"] for j in jobs.values()} == {"finished"}
    assert (jobs[3]["attempt"], jobs[5]["attempt"], jobs[0]["attempt"]) == (2, 2, 1)
    assert jobs[5]["history"][0]["error"].startswith("held by HTCondor")

    # the ledger makes a second run attach instead of submitting again
    again = pipekit(tmp_path, bin_dir, "--out", str(out), "--fail-once", "3", "--print-status", "0")
    assert "htcondor jobs: 8 finished" in again.stdout, again.stdout
    assert len(standin.calls(state, "condor_submit")) == len(submits)

    # --cancel-jobs removes a throttled cluster with its not yet created jobs
    slow = tmp_path / "slow"
    slow_args = ("--out", str(slow), "--n", "4", "--sleep", "60")
    started = pipekit(tmp_path, bin_dir, *slow_args, "--parallel-jobs", "1", "--no-poll")
    assert started.returncode == 0, started.stdout
    pipekit(tmp_path, bin_dir, *slow_args, "--print-status", "0")
    cancelled = pipekit(tmp_path, bin_dir, *slow_args, "--cancel-jobs")
    assert cancelled.returncode == 0, cancelled.stdout
    assert "cancelled 4 job(s)" in cancelled.stdout, cancelled.stdout
    slow_jobs = json.loads(next(slow.glob("pipekit_htcondor_*/ledger.json")).read_text())["jobs"]
    cluster = slow_jobs["0"]["job_id"].split(".")[0]
    assert standin.calls(state, "condor_rm")[-1][-1] == cluster  # the cluster, not job by job
    assert {j["error"] for j in slow_jobs.values()} == {"cancelled with --cancel-jobs"}
    assert json.loads((state / "state.json").read_text())["queue"] == {}
    assert not list(slow.glob("char_*.json"))
