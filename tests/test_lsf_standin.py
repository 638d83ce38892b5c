"""
LSFWorkflow through the real job loop against a STAND-IN for an LSF cluster.

No LSF cluster can exist on these machines (IBM Spectrum LSF is proprietary, no package in any
registry), so this file holds the tests that use stand-in ``bsub`` / ``bjobs`` / ``bhist`` /
``bkill`` / ``bparams`` executables (tests/lsf_standin.py: a queue in a JSON file, every array
element runs pipekit's batch script for real as a local process, outputs shaped as IBM
documents them). They show that the manager's commands, the batch script, the node and the loop
fit together; they are not evidence of how a real mbatchd behaves. The status parsing is tested
on documented outputs in test_batch_lsf_status.py, the commands in test_batch_lsf.py.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import lsf_standin as standin
import pytest

pytestmark = [pytest.mark.timeout(180)]

TASKS = '''
import json
import os
import time
import luigi
import pipekit as law
law.contrib.load("lsf")


class LsfChars(law.lsf.LSFWorkflow, law.LocalWorkflow):
    out = luigi.Parameter()
    n = luigi.IntParameter(default=8)
    fail_once = luigi.IntParameter(default=-1)
    sleep = luigi.FloatParameter(default=0.0)
    slow = luigi.IntParameter(default=-1)

    def create_branch_map(self):
        return {i: chr(97 + i) for i in range(self.n)}

    def output(self):
        return law.LocalFileTarget(os.path.join(self.out, f"char_{self.branch}.json"))

    def run(self):
        marker = os.path.join(self.out, f".tried_{self.branch}")
        first = not os.path.exists(marker)
        open(marker, "a").close()
        if self.slow < 0 or self.slow == self.branch:
            time.sleep(self.sleep if first or self.slow < 0 else 0)
        if self.branch == self.fail_once and first:
            raise RuntimeError(f"branch {self.branch} fails on its first attempt")
        self.output().dump({"char": self.branch_data, "job": os.environ["LSB_JOBID"],
                            "index": os.environ["LSB_JOBINDEX"]})
'''


@pytest.fixture
def cluster(tmp_path):
    """A stand-in for an LSF cluster (see the module docstring): (bin dir, state dir)."""
    bin_dir, state = tmp_path / "standin" / "bin", tmp_path / "standin" / "state"
    standin.install(bin_dir, state)
    (tmp_path / "standin_lsf_tasks.py").write_text(textwrap.dedent(TASKS))
    yield bin_dir, state
    standin.kill_all(state)


def command(cwd: Path, bin_dir: Path, *args: str) -> tuple[list[str], dict[str, str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LAW_", "PIPEKIT_"))}
    env["PATH"] = f"{bin_dir}:{os.path.dirname(sys.executable)}:{env.get('PATH', '/usr/bin:/bin')}"
    env["PYTHONPATH"] = str(cwd)
    return [os.path.join(os.path.dirname(sys.executable), "pipekit"), "run",
            "standin_lsf_tasks.LsfChars", "--poll-interval", "0.2s", *args], env


def pipekit(cwd: Path, bin_dir: Path, *args: str) -> subprocess.CompletedProcess:
    cmd, env = command(cwd, bin_dir, *args)
    return subprocess.run(cmd, cwd=cwd, env=env, text=True, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, timeout=150)


def ledger(out: Path) -> dict[int, dict]:
    path = next(out.glob("pipekit_lsf_LsfChars_*/ledger.json"))
    return {int(k): v for k, v in json.loads(path.read_text())["jobs"].items()}


def written(out: Path) -> dict[str, dict]:
    return {p.name: json.loads(p.read_text()) for p in out.glob("char_*.json")}


def test_one_bsub_array_throttled_one_bjobs_per_cycle_and_a_failed_branch_resubmitted_alone(
        tmp_path, cluster):
    bin_dir, state = cluster
    out = tmp_path / "out"
    t0 = time.time()
    proc = pipekit(tmp_path, bin_dir, "--out", str(out), "--n", "12", "--tasks-per-job", "3",
                   "--parallel-jobs", "2", "--fail-once", "4", "--sleep", "0.3")
    wall = time.time() - t0
    assert proc.returncode == 0, proc.stdout
    assert sorted(written(out)) == sorted(f"char_{i}.json" for i in range(12))
    bsubs = standin.calls(state, "bsub")
    assert len(bsubs) == 2
    name = bsubs[0][bsubs[0].index("-J") + 1]
    assert name.startswith("pk_LsfChars_") and name.endswith("[1-4]%2")
    # the retry holds branch 4 only, not its siblings 3 and 5
    retry = bsubs[1][bsubs[1].index("-J") + 1]
    assert retry.endswith("[1-1]%2") or retry.endswith("[1-1]%1")
    jobs = ledger(out)
    assert jobs[1]["branches"] == [4] and jobs[1]["attempt"] == 2
    assert written(out)["char_3.json"]["job"] == written(out)["char_5.json"]["job"] == "100"
    assert written(out)["char_4.json"]["job"] == "101"
    # element i ran plan position i - 1 and wrote log_i.txt
    assert [written(out)[f"char_{b}.json"]["index"] for b in (0, 3, 6, 9)] == ["1", "2", "3", "4"]
    assert Path(jobs[3]["log"]).name == "log_4.txt" and Path(jobs[3]["log"]).exists()
    assert "branch 4 fails on its first attempt" in Path(jobs[1]["history"][0]["log"]).read_text()
    # one bjobs per poll cycle, naming the arrays, in JSON
    queries = standin.calls(state, "bjobs")
    assert 1 <= len(queries) <= wall / 0.2 + 2
    assert all(q[:3] == ["-a", "-json", "-o"] and q[4:] in (["100"], ["101"], ["100", "101"])
               for q in queries)


def test_a_memory_limit_kill_is_oom_and_bkill_is_cancelled_and_both_are_resubmitted(
        tmp_path, cluster):
    bin_dir, state = cluster
    out = tmp_path / "out"
    (state / "memlimit.json").write_text(json.dumps({"index": 2}))
    cmd, env = command(tmp_path, bin_dir, "--out", str(out), "--n", "3", "--sleep", "30",
                       "--slow", "0", "--retries", "2")
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 60
        while not (out / ".tried_0").exists() and time.time() < deadline:
            time.sleep(0.1)
        subprocess.run([str(bin_dir / "bkill"), "100[1]"], check=True, capture_output=True)
        stdout, _ = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 0, stdout
    assert sorted(written(out)) == ["char_0.json", "char_1.json", "char_2.json"]
    jobs = ledger(out)
    assert jobs[1]["history"][0]["reason"] == "oom"
    assert "TERM_MEMLIMIT" in jobs[1]["history"][0]["error"]
    assert jobs[0]["history"][0]["reason"] == "cancelled"
    assert (jobs[0]["attempt"], jobs[1]["attempt"], jobs[2]["attempt"]) == (2, 2, 1)


def test_a_killed_submitter_reattaches_and_one_killed_after_bsub_is_recovered_by_job_name(
        tmp_path, cluster):
    bin_dir, state = cluster
    out = tmp_path / "out"
    # long enough that the jobs still run when the re-run starts, also on a loaded machine
    args = ("--out", str(out), "--n", "4", "--sleep", "8")
    # bsub queues the array, then the submitting process dies before it records the id
    (state / "bsub_kills_parent").write_text("")
    crashed = pipekit(tmp_path, bin_dir, *args)
    assert crashed.returncode == -signal.SIGKILL
    assert {j["state"] for j in ledger(out).values()} == {"submitting"}
    cmd, env = command(tmp_path, bin_dir, *args)
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 60
        while time.time() < deadline and not any(j["state"] == "running" for j in ledger(out).values()):
            time.sleep(0.1)
        proc.send_signal(signal.SIGKILL)
        stdout, _ = proc.communicate(timeout=10)
    finally:
        proc.kill()
    assert "found the 4 jobs of submission" in stdout
    rerun = pipekit(tmp_path, bin_dir, *args)
    assert rerun.returncode == 0, rerun.stdout
    assert "re-attached to" in rerun.stdout
    assert len(standin.calls(state, "bsub")) == 1
    assert sorted(written(out)) == sorted(f"char_{i}.json" for i in range(4))
    assert {j["attempt"] for j in ledger(out).values()} == {1}
    assert any("-J" in a for a in standin.calls(state, "bjobs"))


def test_without_json_bjobs_is_read_as_text_and_cleaned_jobs_are_asked_from_bhist(
        tmp_path, cluster):
    bin_dir, state = cluster
    out = tmp_path / "out"
    (state / "no_json").write_text("")
    (state / "clean_period").write_text("0")  # bjobs forgets ended jobs at once
    proc = pipekit(tmp_path, bin_dir, "--out", str(out), "--n", "3", "--fail-once", "1",
                   "--sleep", "0.5")
    assert proc.returncode == 0, proc.stdout
    assert sorted(written(out)) == ["char_0.json", "char_1.json", "char_2.json"]
    queries = standin.calls(state, "bjobs")
    assert queries[0][:2] == ["-a", "-json"] and all("-noheader" in q for q in queries[1:])
    assert standin.calls(state, "bhist"), "ended jobs bjobs forgot are asked from bhist"
    jobs = ledger(out)
    assert jobs[1]["attempt"] == 2 and jobs[1]["history"][0]["reason"] == "exit_code"


def test_cancel_jobs_bkills_the_active_elements(tmp_path, cluster):
    bin_dir, state = cluster
    out = tmp_path / "out"
    args = ("--out", str(out), "--n", "3", "--sleep", "60")
    started = pipekit(tmp_path, bin_dir, *args, "--no-poll")
    assert started.returncode == 0, started.stdout
    cancelled = pipekit(tmp_path, bin_dir, *args, "--cancel-jobs")
    assert cancelled.returncode == 0, cancelled.stdout
    assert "cancelled 3 job(s) (LSF ids 100[1], 100[2], 100[3])" in cancelled.stdout
    assert standin.calls(state, "bkill")[-1] == ["100[1]", "100[2]", "100[3]"]
    assert {j["reason"] for j in ledger(out).values()} == {"cancelled"}
