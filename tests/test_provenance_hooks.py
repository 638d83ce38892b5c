"""
When records are written (real ``pipekit run`` subprocesses): after a task or branch succeeded,
for outputs that exist; never for a killed or failed run, so a half-written output never reads
as current; and the branches that finished before a run was interrupted keep theirs.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import pytest
from cli_helpers import cli_env, run_cli, script, write

TASKS = '''
import os
import time

import luigi

import pipekit as law


class Slow(law.Task):
    """Writes its output without pipekit's atomic write, then hangs until killed."""

    def output(self):
        return law.LocalFileTarget("data/slow.txt")

    def run(self):
        self.output().parent.touch()
        with open(self.output().path, "w") as f:
            f.write("half")
            f.flush()
            open("started", "w").close()
            time.sleep(60)
            f.write(" and the rest")


class Pair(law.Task):
    """Two outputs; with hang, a.txt is rewritten by hand and the task hangs."""

    hang = luigi.BoolParameter(significant=False)

    def output(self):
        return {"a": law.LocalFileTarget("data/a.txt"), "b": law.LocalFileTarget("data/b.txt")}

    def run(self):
        if self.hang:
            with open(self.output()["a"].path, "w") as f:
                f.write("partial content, longer than before")
                f.flush()
                open("started", "w").close()
                time.sleep(60)
        self.output()["a"].dump("a", formatter="text")
        self.output()["b"].dump("b", formatter="text")


class Many(law.LocalWorkflow):
    """Branch 3 fails; with stall, branch 5 waits until interrupted."""

    stall = luigi.BoolParameter(significant=False)

    def create_branch_map(self):
        return {i: i for i in range(8)}

    def output(self):
        return law.LocalFileTarget(f"data/many/m_{self.branch}.txt")

    def run(self):
        if self.branch == 3 and not self.stall:
            raise RuntimeError("branch 3 fails")
        if self.branch == 5 and self.stall:
            open("started", "w").close()
            time.sleep(60)
        self.output().dump(str(self.branch), formatter="text")
'''

CFG = "[core]\nprovenance: True\n[luigi_core]\nlocal_scheduler: True\n"


@pytest.fixture
def work(tmp_path):
    work = tmp_path / "work"
    write(work / "tasks.py", TASKS)
    write(work / "law.cfg", CFG)
    return work


def recorded(directory) -> set[str]:
    path = directory / ".pipekit-provenance"
    if not path.exists():
        return set()
    return set(json.loads(path.read_text())["outputs"])


def start_until_marker(work, *args):
    proc = subprocess.Popen([script(), "run", *args], cwd=work, env=cli_env(work),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    deadline = time.monotonic() + 60
    while not (work / "started").exists():
        assert proc.poll() is None, proc.communicate()[0]
        assert time.monotonic() < deadline, "the task never started"
        time.sleep(0.05)
    return proc


def stop(proc, sig):
    os.killpg(proc.pid, sig)
    return proc.communicate(timeout=60)[0]


def test_a_killed_task_leaves_no_record_for_its_half_written_output(work):
    proc = start_until_marker(work, "tasks.Slow")
    stop(proc, signal.SIGKILL)
    assert (work / "data" / "slow.txt").read_text() == "half"  # the task did not write atomically
    assert recorded(work / "data") == set()
    res = run_cli(["provenance", "data/slow.txt"], work)
    assert res.returncode == 1 and "has no provenance record" in res.stderr
    res = run_cli(["run", "tasks.Slow", "--print-status", "0"], work)
    assert "existent, unknown (no record)" in res.stdout


def test_an_old_record_does_not_vouch_for_a_file_half_rewritten_by_a_killed_run(work):
    assert run_cli(["run", "tasks.Pair"], work).returncode == 0
    assert recorded(work / "data") == {"a.txt", "b.txt"}
    (work / "data" / "b.txt").unlink()  # incomplete: the next run rewrites a.txt as well
    proc = start_until_marker(work, "tasks.Pair", "--hang")
    stop(proc, signal.SIGKILL)
    res = run_cli(["run", "tasks.Pair", "--print-status", "0"], work)
    assert "existent, unknown (changed after its record was written)" in res.stdout
    assert "current" not in res.stdout


def test_a_failed_branch_gets_no_record_and_the_others_do(work):
    res = run_cli(["run", "tasks.Many", "--workers", "2"], work)
    assert res.returncode == 40  # a failed task: luigi's [retcode] task_failed, as in law
    assert recorded(work / "data" / "many") == {f"m_{i}.txt" for i in range(8) if i != 3}


def test_an_interrupted_workflow_keeps_the_records_of_the_branches_that_finished(work):
    proc = start_until_marker(work, "tasks.Many", "--stall")
    stop(proc, signal.SIGINT)
    done = {p.name for p in (work / "data" / "many").glob("m_*.txt")}
    assert done and "m_5.txt" not in done
    assert recorded(work / "data" / "many") == done


def test_records_name_the_task_its_parameters_and_the_code(work):
    assert run_cli(["run", "tasks.Many", "--branch", "2"], work).returncode == 0
    raw = json.loads((work / "data" / "many" / ".pipekit-provenance").read_text())
    ctx = raw["contexts"][0]
    assert (ctx["family"], ctx["module"], ctx["class"]) == ("Many", "tasks", "Many")
    assert ctx["params"] == {} and set(ctx["code"]) == {"tasks.Many"}
    assert ctx["software"]["pipekit"] and ctx["host"] == os.uname().nodename
    assert raw["outputs"]["m_2.txt"][1] == 2  # the branch


def test_a_sandboxed_task_is_recorded_once_by_the_outer_process_naming_the_sandbox(tmp_path):
    from sandbox_helpers import make_analysis, run_pipekit

    work = make_analysis(tmp_path, law_cfg="[core]\nprovenance: True\n")
    res = run_pipekit(["run", "sbtasks.Report", "--sandbox", "bash::test_env1.sh"], work)
    assert res.returncode == 0, res.stdout + res.stderr
    raw = json.loads((work / "data" / ".pipekit-provenance").read_text())
    assert sorted(raw["outputs"]) == ["report_x.json", "upstream.txt"]
    report = raw["contexts"][raw["outputs"]["report_x.json"][0]]
    assert report["software"]["sandbox"] == "bash::test_env1.sh"
    assert "sandbox" not in raw["contexts"][raw["outputs"]["upstream.txt"][0]]["software"]
    inputs = raw["outputs"]["report_x.json"][6]
    assert [i[1] for i in inputs] == ["upstream.txt"]


def test_records_made_in_a_batch_job_name_it(tmp_path, monkeypatch):
    from pipekit.provenance import hooks

    monkeypatch.setattr(hooks, "_job", {})
    for name in ("SLURM_JOB_ID", "SLURM_ARRAY_JOB_ID", "SLURM_ARRAY_TASK_ID", "_CONDOR_JOB_AD"):
        monkeypatch.delenv(name, raising=False)
    assert hooks.job_info() is None
    monkeypatch.setenv("SLURM_JOB_ID", "812")
    monkeypatch.setenv("SLURM_ARRAY_JOB_ID", "800")
    monkeypatch.setenv("SLURM_ARRAY_TASK_ID", "12")
    hooks.note_job(job_num=12, attempt=2)
    assert hooks.job_info() == {"job_num": 12, "attempt": 2, "backend": "slurm", "job_id": "800_12"}
    for name in ("SLURM_JOB_ID", "SLURM_ARRAY_JOB_ID", "SLURM_ARRAY_TASK_ID"):
        monkeypatch.delenv(name)
    ad = tmp_path / ".job.ad"  # the job ad HTCondor writes for a job (attribute = value lines)
    ad.write_text('ClusterId = 4711\nProcId = 3\nOwner = "me"\n')
    monkeypatch.setenv("_CONDOR_JOB_AD", str(ad))
    hooks.note_job(job_num=3, attempt=1)
    assert hooks.job_info()["backend"] == "htcondor"
    assert hooks.job_info()["job_id"] == "4711.3"
