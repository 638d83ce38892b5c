"""``python -m pipekit.job``: what a remote job does on the node (run here as a real process)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest

from pipekit.job.base import JobArguments
from pipekit.job.node import EXIT_BRANCHES_FAILED, EXIT_SPEC_ERROR, describe_exit_code
from pipekit.job.spec import JobSpec

TASKS = '''
import os, time
import luigi
import pipekit as law
law.contrib.load("slurm")


class Node(law.slurm.SlurmWorkflow, law.LocalWorkflow):
    out = luigi.Parameter()
    fail = luigi.IntParameter(default=-1)
    lazy = luigi.IntParameter(default=-1)
    sleep = luigi.FloatParameter(default=0.0)

    def create_branch_map(self):
        return list(range(4))

    def output(self):
        return law.LocalFileTarget(os.path.join(self.out, f"b{self.branch}.json"))

    def run(self):
        time.sleep(self.sleep)
        if self.branch == self.fail:
            raise ValueError(f"branch {self.branch} is broken")
        if self.branch == self.lazy:
            return  # returns without writing its output
        self.output().dump({"pid": os.getpid()}, formatter="json")
'''


@pytest.fixture
def node_tasks(task_module):
    return task_module("node_tasks", TASKS)


def write_spec(tmp_path, task, branches, workers=1) -> str:
    spec = JobSpec.from_workflow(task, branches, exclude=task.workflow_proxy.spec_exclude(),
                                 workers=workers, job_num=3, attempt=1, tag="tag")
    path = str(tmp_path / "spec_0.json")
    spec.dump(path)
    return path


def terminate_node(tmp_path, spec, *gaps: float) -> None:
    """Start the job process, SIGTERM it once it runs (and again after each of *gaps* seconds),
    and check that it ends with 128 + SIGTERM, as a batch system sees a terminated job."""
    proc = subprocess.Popen([sys.executable, "-m", "pipekit.job", spec, "--status-file",
                             str(tmp_path / "status.json")], cwd=tmp_path,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert "pipekit job 3" in proc.stdout.readline()
        time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        for gap in gaps:
            time.sleep(gap)
            proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 128 + signal.SIGTERM
    finally:
        proc.kill()
        proc.wait()


def run_node(tmp_path, *args, timeout=60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipekit.job", *args], cwd=tmp_path,
                          capture_output=True, text=True, timeout=timeout)


def status_of(tmp_path) -> dict:
    return json.loads((tmp_path / "status.json").read_text())


def test_job_runs_its_branches_and_writes_an_exit_status(tmp_path, node_tasks):
    out = tmp_path / "out"
    spec = write_spec(tmp_path, node_tasks.Node(out=str(out)), [1, 2])
    proc = run_node(tmp_path, spec, "--status-file", str(tmp_path / "status.json"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert sorted(p.name for p in out.iterdir()) == ["b1.json", "b2.json"]
    status = status_of(tmp_path)
    assert (status["exit_code"], status["branches"], status["failed"]) == (0, [1, 2], {})
    assert (status["job_num"], status["attempt"], status["tag"]) == (3, 1, "tag")
    assert "pipekit job 3 attempt 1: Node branches 1-2" in proc.stdout


@pytest.mark.parametrize("workers", [1, 2])
def test_the_exit_status_file_says_what_each_branch_and_the_job_cost(tmp_path, node_tasks, workers):
    # what pipekit report and the ledger read: no extra process, no extra file per branch
    out = tmp_path / "out"
    spec = write_spec(tmp_path, node_tasks.Node(out=str(out), sleep=0.2, fail=2), [0, 1, 2],
                      workers=workers)
    run_node(tmp_path, spec, "--status-file", str(tmp_path / "status.json"))
    status = status_of(tmp_path)
    usage = status["branch_usage"]
    assert sorted(usage) == ["0", "1", "2"]  # the failed branch is measured too
    for b in usage.values():
        assert b["end"] - b["start"] >= 0.19 and b["cpu_s"] >= 0 and b["maxrss_mb"] > 5
        assert status["start"] <= b["start"] <= b["end"] <= status["end"]
    assert status["cpu_s"] > 0 and status["maxrss_mb"] >= max(b["maxrss_mb"] for b in usage.values())
    assert status["host"]


def test_failing_branch_gives_exit_1_and_its_exception_others_still_run(tmp_path, node_tasks):
    out = tmp_path / "out"
    spec = write_spec(tmp_path, node_tasks.Node(out=str(out), fail=1), [0, 1, 2])
    proc = run_node(tmp_path, spec, "--status-file", str(tmp_path / "status.json"))
    assert proc.returncode == EXIT_BRANCHES_FAILED
    assert sorted(p.name for p in out.iterdir()) == ["b0.json", "b2.json"]
    status = status_of(tmp_path)
    assert status["error"] == "branch 1: ValueError: branch 1 is broken"
    assert "Traceback" in status["failed"]["1"]["traceback"]
    assert "branch 1 is broken" in proc.stdout


def test_branch_that_writes_no_output_counts_as_failed(tmp_path, node_tasks):
    spec = write_spec(tmp_path, node_tasks.Node(out=str(tmp_path / "out"), lazy=0), [0])
    proc = run_node(tmp_path, spec, "--status-file", str(tmp_path / "status.json"))
    assert proc.returncode == EXIT_BRANCHES_FAILED
    assert status_of(tmp_path)["error"] == "branch 0: run() finished but its outputs do not exist"


def test_job_workers_run_branches_in_forked_processes(tmp_path, node_tasks):
    out = tmp_path / "out"
    spec = write_spec(tmp_path, node_tasks.Node(out=str(out), sleep=0.3), [0, 1, 2, 3], workers=2)
    proc = run_node(tmp_path, spec, "--status-file", str(tmp_path / "status.json"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    pids = {json.loads((out / f"b{b}.json").read_text())["pid"] for b in range(4)}
    assert status_of(tmp_path)["pid"] not in pids and len(pids) == 2


def test_unimportable_task_module_gives_exit_2(tmp_path, node_tasks):
    spec_path = write_spec(tmp_path, node_tasks.Node(out=str(tmp_path / "out")), [0])
    data = json.loads(open(spec_path).read())
    data["task_module"] = "no_such_module_here"
    (tmp_path / "spec_0.json").write_text(json.dumps(data))
    proc = run_node(tmp_path, spec_path, "--status-file", str(tmp_path / "status.json"))
    assert proc.returncode == EXIT_SPEC_ERROR
    assert "cannot import task module 'no_such_module_here'" in status_of(tmp_path)["error"]


def test_sigterm_writes_the_exit_status_before_the_job_dies(tmp_path, node_tasks):
    spec = write_spec(tmp_path, node_tasks.Node(out=str(tmp_path / "out"), sleep=30), [0])
    terminate_node(tmp_path, spec)
    status = status_of(tmp_path)
    assert status["exit_code"] == 143 and "terminated by SIGTERM" in status["error"]


@pytest.mark.parametrize("gap", [0.0002, 0.0005, 0.001])  # the handler is about 1 ms
def test_a_second_sigterm_does_not_cut_the_exit_status_short(tmp_path, node_tasks, gap):
    # Slurm signals every process of a cancelled job, and a batch script with a stage-out file
    # forwards its own SIGTERM to the job process as well: two signals, close together
    spec = write_spec(tmp_path, node_tasks.Node(out=str(tmp_path / "out"), sleep=30), [0])
    terminate_node(tmp_path, spec, gap)
    assert status_of(tmp_path)["exit_code"] == 143


def test_inline_arguments_run_a_job_without_a_spec_file(tmp_path, node_tasks):
    out = tmp_path / "out"
    args = JobArguments(node_tasks.Node, ["--out", str(out)], [0, 3], workers=1).get_args()
    proc = run_node(tmp_path, *args)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert sorted(p.name for p in out.iterdir()) == ["b0.json", "b3.json"]


def test_exit_codes_are_explained():
    assert describe_exit_code(3) == "sourcing the bootstrap file failed"
    assert describe_exit_code(137) == "killed by SIGKILL"
    assert describe_exit_code(42) == "exit code 42"


SCHEMA_TASK = '''
import os
import luigi
import pipekit as law
law.contrib.load("slurm")


class Schema(law.slurm.SlurmWorkflow):
    out = luigi.Parameter()
    cfg = luigi.DictParameter(schema={"type": "object", "properties": {"n": {"type": "integer"}}})

    def create_branch_map(self):
        return [0]

    def output(self):
        return law.LocalFileTarget(os.path.join(self.out, "schema.json"))

    def run(self):
        import requests  # loaded on first use in the job process

        self.output().dump({"n": self.cfg["n"], "session": type(requests.Session()).__name__},
                           formatter="json")
'''


def test_tasks_using_the_deferred_modules_still_get_them(tmp_path, task_module):
    module = task_module("schema_tasks", SCHEMA_TASK)
    out = tmp_path / "out"
    spec = write_spec(tmp_path, module.Schema(out=str(out), cfg={"n": 3}), [0])
    proc = run_node(tmp_path, spec, "--status-file", str(tmp_path / "status.json"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads((out / "schema.json").read_text()) == {"n": 3, "session": "Session"}

    data = json.loads(open(spec).read())
    data["params"]["cfg"] = '{"n": "three"}'  # violates the schema: jsonschema must load
    (tmp_path / "spec_0.json").write_text(json.dumps(data))
    proc = run_node(tmp_path, spec, "--status-file", str(tmp_path / "status.json"))
    assert proc.returncode == EXIT_SPEC_ERROR
    assert "'three' is not of type 'integer'" in status_of(tmp_path)["error"]


BUNDLED = '''
import os
import luigi
import pipekit as law
law.contrib.load("slurm")


class FromBundle(law.slurm.SlurmWorkflow, law.LocalWorkflow):
    out = luigi.Parameter()

    def create_branch_map(self):
        return [0]

    def output(self):
        return law.LocalFileTarget(os.path.join(self.out, "b0.json"))

    def run(self):
        from pipekit.config import Config

        self.output().dump({"module": __file__, "cwd": os.getcwd(),
                            "greeting": Config.instance().get_expanded("analysis", "greeting"),
                            "bundle": os.environ["PIPEKIT_BUNDLE_REPO"]}, formatter="json")
'''


def test_a_task_module_that_exists_only_in_a_bundle_runs_from_the_unpacked_bundle(tmp_path):
    from pipekit.bundle.archive import write_archive
    from pipekit.bundle.ref import BundleRef

    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "bundled_tasks.py").write_text(BUNDLED)
    (repo / "law.cfg").write_text("[analysis]\ngreeting: from the bundled law.cfg\n")
    archive = tmp_path / "repo.abc.tgz"
    write_archive(str(archive), str(repo), ["bundled_tasks.py", "law.cfg"])
    ref = BundleRef("repo", "abc", archive.name, local_archive=str(archive),
                    source_dir=str(repo), python_path=["."], kind="git")
    spec = JobSpec(task_module="bundled_tasks", task_class="FromBundle",
                   params={"out": str(tmp_path / "out")}, branches=[0],
                   python_path=[str(repo)], cwd=str(tmp_path), config_file=str(repo / "law.cfg"),
                   bundles=[ref.to_dict()], job_num=0)
    spec.dump(str(tmp_path / "spec_0.json"))
    repo.rename(tmp_path / "moved-away")  # nothing of the submit side is left to import
    job_dir = tmp_path / "jobdir"
    job_dir.mkdir()
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("LAW_")}
    env.update(PIPEKIT_BUNDLE_CACHE=str(tmp_path / "cache"), PIPEKIT_JOB_DIR=str(job_dir))
    proc = subprocess.run([sys.executable, "-m", "pipekit.job", str(tmp_path / "spec_0.json"),
                           "--status-file", str(tmp_path / "status.json")], cwd=job_dir, env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    unpacked = str(tmp_path / "cache" / "repo.abc")
    result = json.loads((tmp_path / "out" / "b0.json").read_text())
    assert result == {"module": f"{unpacked}/bundled_tasks.py", "cwd": str(job_dir),
                      "greeting": "from the bundled law.cfg", "bundle": unpacked}
    assert f"bundle repo.abc unpacked from {archive}" in proc.stdout
    assert f"configuration {unpacked}/law.cfg (from a bundle)" in proc.stdout
