"""
Tests for pipekit.workflow.local (and the fork pool it uses): running branches, failures,
tolerance and acceptance, --workers, branch requirements, dynamic dependencies, a workflow
inside a larger DAG, and interruption. Mostly through real ``pipekit run`` processes.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import luigi
import pytest
from concurrency_helpers import most_at_once

import pipekit as law
from pipekit.workflow.local import run_branches

luigi.namespace("test_workflow_local", scope=__name__)

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
PIPEKIT = os.path.join(os.path.dirname(sys.executable), "pipekit")


class Flaky(law.LocalWorkflow):
    """Ten branches; the ones named in --fail / --silent / --crash / --exit misbehave."""

    fail = law.CSVParameter(cls=luigi.IntParameter, default=())
    silent = law.CSVParameter(cls=luigi.IntParameter, default=())
    crash = law.CSVParameter(cls=luigi.IntParameter, default=())
    exit = law.CSVParameter(cls=luigi.IntParameter, default=())

    def create_branch_map(self):
        return 10

    def output(self):
        return law.LocalFileTarget(f"out/flaky/{self.branch}.json")

    def run(self):
        if self.branch in self.silent:
            return
        if self.branch in self.crash:
            os._exit(3)
        if self.branch in self.exit:
            sys.exit(2)
        with self.output().open("w") as f:
            f.write('{"half": ')  # a failure below must not leave this behind
            if self.branch in self.fail:
                raise ValueError(f"bad input in branch {self.branch}")
            f.write(f"{self.branch}}}")


class CountFlaky(law.Task):
    """Needs Flaky with acceptance 0.8, i.e. 8 of 10 outputs are enough."""

    fail = law.CSVParameter(cls=luigi.IntParameter, default=())

    def requires(self):
        return Flaky.req(self, acceptance=0.8)

    def output(self):
        return law.LocalFileTarget("out/count.json")

    def run(self):
        self.output().dump(self.input()["collection"].count())


def record_busy_interval(path: str, seconds: float) -> None:
    """Sleep like a branch doing work, then write when this process was busy."""
    start = time.time()
    time.sleep(seconds)
    law.LocalFileTarget(path).dump({"pid": os.getpid(), "start": start, "end": time.time()})


class Sleepy(law.LocalWorkflow):
    """Branches that announce their process id, sleep, and record when they ran."""

    n = luigi.IntParameter(default=2)
    seconds = luigi.FloatParameter(default=0.5)

    def create_branch_map(self):
        return self.n

    def output(self):
        return law.LocalFileTarget(f"out/sleepy/{self.branch}.json")

    def run(self):
        os.makedirs("out/started", exist_ok=True)
        with open(f"out/started/{self.branch}", "w") as f:
            f.write(str(os.getpid()))
        record_busy_interval(self.output().path, self.seconds)


class Busy(law.LocalWorkflow):
    tag = luigi.Parameter()

    def create_branch_map(self):
        return 3

    def output(self):
        return law.LocalFileTarget(f"out/busy/{self.tag}-{self.branch}.json")

    def run(self):
        record_busy_interval(self.output().path, 0.4)


class BusyPlain(law.Task):
    def output(self):
        return law.LocalFileTarget("out/busy/plain.json")

    def run(self):
        record_busy_interval(self.output().path, 0.4)


class BusyAll(law.WrapperTask):
    """Three independent workflows and a plain task: luigi may run any two of them at once."""

    def requires(self):
        return [Busy.req(self, tag=t) for t in "abc"] + [BusyPlain.req(self)]


class Raw(law.LocalWorkflow):
    def create_branch_map(self):
        return 8

    def output(self):
        return law.LocalFileTarget(f"out/raw/{self.branch}.json")

    def run(self):
        self.output().dump({"value": self.branch * 10})


class Calibrated(law.LocalWorkflow):
    """Branch i requires branch i of Raw."""

    def create_branch_map(self):
        return 8

    def requires(self):
        return Raw.req(self)

    def output(self):
        return law.LocalFileTarget(f"out/calibrated/{self.branch}.json")

    def run(self):
        self.output().dump({"value": self.input().load()["value"] + 1})


class Dynamic(law.LocalWorkflow):
    """Branches whose run() yields its requirements (luigi's dynamic dependencies), twice."""

    def create_branch_map(self):
        return 4

    def output(self):
        return law.LocalFileTarget(f"out/dynamic/{self.branch}.json")

    def run(self):
        own = yield Raw.req(self)
        (nxt,) = yield [Raw.req(self, branch=(self.branch + 1) % 4)]
        self.output().dump({"sum": own.load()["value"] + nxt.load()["value"]})


class Seed(law.Task):
    def output(self):
        return law.LocalFileTarget("out/seed.json")

    def run(self):
        self.output().dump({"offset": 100})


class Shifted(law.LocalWorkflow):
    def create_branch_map(self):
        return 5

    def workflow_requires(self):
        return {"seed": Seed.req(self)}

    def requires(self):
        return Seed.req(self)

    def output(self):
        return law.LocalFileTarget(f"out/shifted/{self.branch}.json")

    def run(self):
        self.output().dump(self.input().load()["offset"] + self.branch)


class SeededLocally(Raw):
    """Requires Seed only when it runs as a local workflow (law's local_workflow_requires)."""

    def local_workflow_requires(self):
        return {"seed": Seed.req(self)}


class Total(law.Task):
    def requires(self):
        return Shifted.req(self)

    def output(self):
        return law.LocalFileTarget("out/total.json")

    def run(self):
        self.output().dump(sum(t.load() for t in self.input()["collection"].targets.values()))


pytestmark = pytest.mark.usefixtures("fresh_tasks")


def cli(task: str, *args: str) -> list[str]:
    return [PIPEKIT, "run", f"test_workflow_local.{task}", *args]


def cli_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LAW_", "PIPEKIT_"))}
    env["PYTHONPATH"] = TESTS_DIR
    return env


def pipekit_run(task: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        cli(task, *args), capture_output=True, text=True, env=cli_env(), timeout=90
    )


def written(name: str) -> list[int]:
    d = os.path.join("out", name)
    return sorted(int(f.split(".")[0]) for f in os.listdir(d)) if os.path.isdir(d) else []


def load(path: str):
    with open(path) as f:
        return json.load(f)


# -- failures -------------------------------------------------------------------------------------


def test_failing_branch_fails_the_workflow_naming_branch_and_error_and_keeps_the_rest():
    r = pipekit_run("Flaky", "--fail", "3")
    assert r.returncode == 40
    assert (
        "1 of 10 branches of test_workflow_local.Flaky failed (3); tolerance allows 0" in r.stderr
    )
    assert "branch 3: ValueError: bad input in branch 3" in r.stderr
    assert 'raise ValueError(f"bad input in branch {self.branch}")' in r.stderr  # the user's frame
    assert "outputs of the 9 other branches are kept" in r.stderr
    assert sorted(os.listdir("out/flaky")) == [f"{b}.json" for b in range(10) if b != 3]
    assert load("out/flaky/9.json") == {"half": 9}
    r = pipekit_run("Flaky")  # fixed: only the failed branch runs again
    assert r.returncode == 0, r.stderr
    assert "Flaky: running 1 of 10 branches" in r.stdout


def test_branch_that_returns_without_writing_its_output_is_reported():
    r = pipekit_run("Flaky", "--silent", "4,6")
    assert r.returncode == 40
    assert "branch 4: run() returned without error but its outputs do not exist" in r.stderr
    assert "branch 6: run() returned without error" in r.stderr


def test_branch_calling_sys_exit_fails_alone_without_ending_the_run():
    r = pipekit_run("Flaky", "--exit", "5")
    assert r.returncode == 40
    assert "branch 5: SystemExit: 2" in r.stderr
    assert written("flaky") == [b for b in range(10) if b != 5]


def test_branch_that_kills_its_process_fails_alone_with_two_workers():
    r = pipekit_run("Flaky", "--crash", "4", "--workers", "2")
    assert r.returncode == 40
    assert "branch 4: the process running it died (exit code 3)" in r.stderr
    assert written("flaky") == [b for b in range(10) if b != 4]


@pytest.mark.parametrize("tolerance, code", [("0.1", 40), ("0.2", 0), ("2", 0), ("1", 0)])
def test_tolerance_as_fraction_or_count(tolerance, code):
    r = pipekit_run("Flaky", "--fail", "2,7", "--tolerance", tolerance)
    assert r.returncode == code, r.stdout + r.stderr
    assert "2 of 10 branches of test_workflow_local.Flaky failed (2,7)" in r.stdout + r.stderr
    if code == 0:  # tolerated, but the workflow is not complete: say so
        assert "WARNING" in r.stdout and "the workflow is not complete (8/10 present" in r.stdout
    assert written("flaky") == [0, 1, 3, 4, 5, 6, 8, 9]


def test_acceptance_makes_the_workflow_complete_with_eight_of_ten_outputs():
    r = pipekit_run("CountFlaky", "--fail", "2,7")
    assert r.returncode == 0, r.stderr
    assert "acceptance 0.8 is met (8/10 present)" in r.stdout
    assert load("out/count.json") == 8
    r = pipekit_run("Flaky", "--fail", "2,7", "--acceptance", "0.8", "--print-status", "0")
    assert "existent (8/10)" in r.stdout
    r = pipekit_run("Flaky", "--fail", "2,7", "--acceptance", "0.8")
    assert r.returncode == 0 and "running" not in r.stdout  # complete: nothing runs


def test_run_branches_reports_failures_by_branch_in_process_and_forked():
    wf = Flaky(fail=(1, 4))
    for workers in (1, 2):
        failures = run_branches(wf, [0, 1, 2, 4], workers)
        assert sorted(failures) == [1, 4]
        assert failures[4][0] == "ValueError: bad input in branch 4"
        assert "in run" in failures[4][1]
    assert written("flaky") == [0, 2]


# -- parallel branches ----------------------------------------------------------------------------


def test_two_workers_run_two_branches_at_once():
    r = pipekit_run("Sleepy", "--n", "2", "--seconds", "0.6", "--workers", "2")
    assert r.returncode == 0, r.stderr
    assert "Sleepy: running 2 of 2 branches with 2 workers" in r.stdout
    a, b = load("out/sleepy/0.json"), load("out/sleepy/1.json")
    assert a["pid"] != b["pid"]
    assert a["start"] < b["end"] and b["start"] < a["end"]  # the intervals overlap


def test_workers_bound_the_processes_at_work_over_the_whole_run(tmp_path):
    # luigi runs two of the four tasks at once; each workflow used to fork two branch workers
    # of its own, so four branches ran at once (N² with N workflows), as law never does
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    r = subprocess.run(
        cli("BusyAll", "--workers", "2"),
        capture_output=True, text=True, env={**cli_env(), "TMPDIR": str(tmp)}, timeout=90,
    )
    assert r.returncode == 0, r.stderr
    intervals = [load(os.path.join("out/busy", f)) for f in os.listdir("out/busy")]
    assert len(intervals) == 10
    # never more than --workers, and both were used
    assert most_at_once((i["start"], i["end"]) for i in intervals) == 2
    assert list(tmp.iterdir()) == []  # the run's slot files are gone


def test_worker_count_from_law_cfg_applies_without_workers_option():
    with open("law.cfg", "w") as f:
        f.write("[luigi_core]\nworkers: 2\n")
    r = pipekit_run("Sleepy", "--n", "2", "--seconds", "0.6")
    assert r.returncode == 0, r.stderr
    assert "running 2 of 2 branches with 2 workers" in r.stdout
    a, b = load("out/sleepy/0.json"), load("out/sleepy/1.json")
    assert a["start"] < b["end"] and b["start"] < a["end"]


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _start_and_wait_for_branches(n_started: int) -> tuple[subprocess.Popen, list[int]]:
    proc = subprocess.Popen(
        cli("Sleepy", "--n", "4", "--seconds", "60", "--workers", "2"),
        env=cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        started = os.listdir("out/started") if os.path.isdir("out/started") else []
        if len(started) >= n_started:
            time.sleep(0.2)
            return proc, [int(open(f"out/started/{b}").read()) for b in started]
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    pytest.fail("the branches did not start within 30 s")


def _wait_until_gone(pids: list[int], timeout: float = 10) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(_alive(p) for p in pids):
        time.sleep(0.05)
    return [p for p in pids if _alive(p)]


@pytest.mark.timeout(60)
def test_ctrl_c_stops_the_run_and_every_branch_process():
    proc, pids = _start_and_wait_for_branches(2)
    try:
        os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=15)
        assert proc.returncode == 130
        assert "interrupted" in err
        assert _wait_until_gone(pids) == []
        assert written("sleepy") == []
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)


@pytest.mark.timeout(60)
def test_killing_the_run_ends_its_branch_processes():
    proc, pids = _start_and_wait_for_branches(2)
    try:
        os.kill(proc.pid, signal.SIGKILL)  # only the main process: no chance to clean up
        proc.wait(timeout=15)
        assert _wait_until_gone(pids) == []
    finally:
        if any(_alive(p) for p in pids):
            os.killpg(proc.pid, signal.SIGKILL)


# -- requirements ---------------------------------------------------------------------------------


def test_branch_requirements_run_first_as_one_upstream_workflow():
    r = pipekit_run("Calibrated", "--branches", "1-3")
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("running test_workflow_local.Raw(branch=-1, branches=1:4)") == 1
    assert "Raw(branch=1" not in r.stdout  # no task per upstream branch
    assert written("raw") == [1, 2, 3]
    assert [load(f"out/calibrated/{b}.json")["value"] for b in (1, 2, 3)] == [11, 21, 31]


def test_branches_with_dynamic_dependencies_run_inside_the_workflow():
    r = pipekit_run("Dynamic")
    assert r.returncode == 0, r.stderr
    assert "Dynamic: 4 branches wait for dynamic dependencies: " in r.stdout
    assert "Dynamic(branch=0" not in r.stdout
    assert written("raw") == [0, 1, 2, 3]
    assert [load(f"out/dynamic/{b}.json")["sum"] for b in range(4)] == [10, 30, 50, 30]


def test_workflow_inside_a_dag_runs_between_upstream_task_and_merge():
    r = pipekit_run("Total", "--workers", "2")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert out.index("done    test_workflow_local.Seed()") < out.index("Shifted: running 5 of 5")
    assert out.index("Shifted: 5 branches run") < out.index("running test_workflow_local.Total()")
    assert "3 ran successfully" in out
    assert load("out/total.json") == sum(100 + b for b in range(5))


def test_luigi_build_in_process_runs_the_dag():
    assert luigi.build([Total()], local_scheduler=True, log_level="CRITICAL")
    assert load("out/total.json") == 510
    assert Shifted().complete()


def test_local_workflow_requires_adds_requirements_of_the_local_workflow_type():
    assert SeededLocally().requires() == {"seed": Seed()}
    assert SeededLocally(pilot=True).requires() == {"seed": Seed()}
    assert SeededLocally(branch=1).requires() == []
    assert luigi.build([SeededLocally(branches="0")], local_scheduler=True, log_level="CRITICAL")
    assert os.path.exists("out/seed.json") and written("raw") == [0]
