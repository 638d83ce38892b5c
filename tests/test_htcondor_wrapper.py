"""
The bash wrapper every HTCondor job runs (``job.sh``), executed for real the way HTCondor's
starter runs it: the description is expanded into job ClassAds by the official bindings, and the
wrapper runs with the ad's arguments, initial directory, output / error files and environment
(HTCondor passes no other variables). In file-transfer mode the ad's ``TransferInput`` files are
copied into a scratch directory (the executable as ``condor_exec.exe``, as HTCondor does), the job
runs there with ``_CONDOR_SCRATCH_DIR`` set, and ``TransferOutput`` comes back through
``TransferOutputRemaps`` — only the copying is done by this test instead of HTCondor.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest

pytestmark = [pytest.mark.htcondor, pytest.mark.timeout(120), pytest.mark.usefixtures("htcondor_bindings")]


TASKS = '''
import os
import time
import luigi
import pipekit as law
law.contrib.load("htcondor")


class Letters(law.htcondor.HTCondorWorkflow, law.LocalWorkflow):
    out = luigi.Parameter()
    sleep = luigi.FloatParameter(default=0.0)

    def create_branch_map(self):
        return {i: chr(97 + i) for i in range(4)}

    def output(self):
        return law.LocalFileTarget(os.path.join(self.out, f"char_{self.branch}.json"))

    def run(self):
        if self.sleep:
            open(self.output().path + ".started", "w").close()
            time.sleep(self.sleep)
        self.output().dump({"char": self.branch_data, "boot": os.environ.get("BOOT", ""),
                            "cluster": os.environ.get("LAW_HTCONDOR_JOB_CLUSTER", ""),
                            "path": os.environ.get("PATH", "")})


class WithHelpers(Letters):
    """Its branches import a module that only a software bundle holds."""

    helpers = luigi.Parameter()

    def workflow_requires(self):
        from pipekit.bundle import BundleSoftware

        return {"helpers": BundleSoftware(source_path=self.helpers)}

    def run(self):
        import pk_helper

        self.output().dump({"helper": pk_helper.__file__, "job_dir": os.environ["PIPEKIT_JOB_DIR"]})
'''


@pytest.fixture
def mod(task_module):
    return task_module("htc_wrap_tasks", TASKS)


@pytest.fixture
def work(home) -> Path:
    return home.parent / "work"


def job_ads(task, jobs: dict[int, list[int]]) -> tuple[object, list[dict]]:
    """Write one submission through the workflow; the job ads HTCondor makes of it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import htcondor

    proxy = task.workflow_proxy
    plan = proxy.new_plan("w0", list(jobs))
    script, _ = proxy.prepare_submission(plan, jobs, {})
    sub = htcondor.Submit(Path(script).read_text())
    ads = sub.jobs(count=0, itemdata=iter(list(sub.itemdata())), clusterid=4711)
    return plan, [dict(ad.items()) for ad in ads]


def transfer_in(ad: dict, scratch: Path) -> None:
    """HTCondor's input transfer: TransferInput and the executable into the scratch directory."""
    scratch.mkdir()
    for path in ad["TransferInput"].split(","):
        shutil.copy(path, scratch / os.path.basename(path))
    shutil.copy(ad["Cmd"], scratch / "condor_exec.exe")


def start_like_htcondor(ad: dict, scratch: Path | None = None) -> subprocess.Popen:
    """Start the job of *ad* as HTCondor's starter would (after transfer_in() to *scratch*)."""
    env = {"PATH": "/usr/bin:/bin", "HOME": os.environ["HOME"]}
    env.update(kv.split("=", 1) for kv in shlex.split(ad.get("Environment", "")))
    cmd, cwd = ad["Cmd"], ad["Iwd"]
    if scratch is not None:
        cmd, cwd = str(scratch / "condor_exec.exe"), str(scratch)
        env["_CONDOR_SCRATCH_DIR"] = str(scratch)
    with open(ad["Out"], "w") as out, open(ad["Err"], "w") as err:
        return subprocess.Popen(["bash", cmd, *shlex.split(ad["Arguments"])], cwd=cwd, env=env,
                                stdout=out, stderr=err)


def transfer_back(ad: dict, scratch: Path) -> None:
    """HTCondor's output transfer: every TransferOutput file must exist (else the job is held)."""
    remaps = dict(part.split(" = ") for part in ad["TransferOutputRemaps"].split(";"))
    for name in ad["TransferOutput"].split(","):
        assert (scratch / name).exists(), f"HTCondor would hold the job: {name} is missing"
        shutil.copy(scratch / name, remaps.get(name, os.path.join(ad["Iwd"], name)))


def status_of(plan, index: int) -> dict:
    return json.loads(Path(plan.status_file(index)).read_text())


def test_job_runs_its_branches_in_the_environment_htcondor_gives_it(mod, work, tmp_path):
    out = tmp_path / "out"
    plan, ads = job_ads(mod.Letters(out=str(out)), {0: [0, 1], 1: [2, 3]})
    proc = start_like_htcondor(ads[1])
    assert proc.wait(timeout=60) == 0, Path(ads[1]["Out"]).read_text()
    assert sorted(p.name for p in out.glob("char_*")) == ["char_2.json", "char_3.json"]
    written = json.loads((out / "char_3.json").read_text())
    assert (written["char"], written["cluster"], written["path"]) == ("d", "4711", "/usr/bin:/bin")
    assert status_of(plan, 1)["exit_code"] == 0
    assert "pipekit job 1 attempt 1: Letters branches 2-3" in Path(plan.log_file(1)).read_text()


def test_bootstrap_file_is_sourced_and_its_failure_exits_3_with_a_status_file(mod, work,
                                                                              tmp_path):
    (work / "boot.sh").write_text("export BOOT=booted\n")
    (work / "law.cfg").write_text("[htcondor]\nbootstrap_file: boot.sh\n")
    plan, ads = job_ads(mod.Letters(out=str(tmp_path / "out")), {0: [0]})
    assert start_like_htcondor(ads[0]).wait(timeout=60) == 0
    assert json.loads((tmp_path / "out" / "char_0.json").read_text())["boot"] == "booted"

    Path(plan.directory, "boot.sh").write_text("false\n")  # the job's copy of the file
    assert start_like_htcondor(ads[0]).wait(timeout=60) == 3
    assert status_of(plan, 0) == {"exit_code": 3, "error": "sourcing the bootstrap file "
                                  f"{plan.directory}/boot.sh failed"}


def test_stageout_file_runs_after_the_branches_succeeded_and_its_failure_exits_4(mod, work,
                                                                                  tmp_path):
    (work / "stageout.sh").write_text('cp "$PK_OUT"/char_0.json "$PK_OUT"/staged.json\n')
    (work / "law.cfg").write_text("[htcondor]\nstageout_file: stageout.sh\n")
    out = tmp_path / "out"
    task = mod.Letters(out=str(out))
    task.htcondor_job_config = lambda config, num, branches: (
        config.env.update(PK_OUT=str(out)) or config)
    plan, ads = job_ads(task, {0: [0]})
    assert start_like_htcondor(ads[0]).wait(timeout=60) == 0
    assert (out / "staged.json").read_text() == (out / "char_0.json").read_text()
    assert status_of(plan, 0)["exit_code"] == 0

    Path(plan.directory, "stageout.sh").write_text("exit_with_error() { return 1; }\n"
                                                   "exit_with_error\n")
    assert start_like_htcondor(ads[0]).wait(timeout=60) == 4
    assert status_of(plan, 0)["error"] == (f"sourcing the stage-out file {plan.directory}/"
                                           "stageout.sh failed")


def test_file_transfer_job_reads_its_files_from_scratch_and_returns_its_status_file(
        mod, work, tmp_path):
    (work / "boot.sh").write_text("export BOOT=from-scratch\n")
    (work / "law.cfg").write_text("[htcondor]\nshared_filesystem: False\nbootstrap_file: boot.sh\n"
                                  f"[job]\npython_executable: {sys.executable}\n")
    out = tmp_path / "out"
    plan, ads = job_ads(mod.Letters(out=str(out)), {0: [0], 1: [1, 2]})
    scratch = tmp_path / "scratch"
    transfer_in(ads[1], scratch)
    # the submitting side's copies are gone: the job can only use what was transferred
    for name in ("spec_1.json", "boot.sh", "job.sh"):
        os.remove(os.path.join(plan.directory, name))
    proc = start_like_htcondor(ads[1], scratch)
    assert proc.wait(timeout=60) == 0, Path(ads[1]["Out"]).read_text()
    assert not os.path.exists(plan.status_file(1))
    transfer_back(ads[1], scratch)
    assert status_of(plan, 1)["exit_code"] == 0 and status_of(plan, 1)["branches"] == [1, 2]
    assert json.loads((out / "char_2.json").read_text())["boot"] == "from-scratch"


def test_file_transfer_job_killed_before_python_still_has_a_status_file_to_return(
        mod, work, tmp_path):
    (work / "boot.sh").write_text("kill -KILL $$\n")  # the job dies while bootstrapping
    (work / "law.cfg").write_text("[htcondor]\nshared_filesystem: False\nbootstrap_file: boot.sh\n")
    plan, ads = job_ads(mod.Letters(out=str(tmp_path / "out")), {0: [0]})
    scratch = tmp_path / "scratch"
    transfer_in(ads[0], scratch)
    assert start_like_htcondor(ads[0], scratch).wait(timeout=60) == -signal.SIGKILL
    transfer_back(ads[0], scratch)  # an empty file: no hold, and the loop ignores it
    assert Path(plan.status_file(0)).read_text() == ""


@pytest.mark.parametrize("with_stageout", [False, True])
def test_removed_job_writes_its_exit_status_before_it_ends(mod, work, tmp_path, with_stageout):
    if with_stageout:  # the wrapper then waits for python instead of exec'ing it
        (work / "stageout.sh").write_text("true\n")
        (work / "law.cfg").write_text("[htcondor]\nstageout_file: stageout.sh\n")
    out = tmp_path / "out"
    plan, ads = job_ads(mod.Letters(out=str(out), sleep=60), {0: [0]})
    proc = start_like_htcondor(ads[0])
    deadline = time.time() + 60
    while not (out / "char_0.json.started").exists():
        assert time.time() < deadline and proc.poll() is None, Path(ads[0]["Out"]).read_text()
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)  # condor_rm: the starter sends SIGTERM to the job
    assert proc.wait(timeout=30) == 128 + signal.SIGTERM
    status = status_of(plan, 0)
    assert status["exit_code"] == 143 and "terminated by SIGTERM" in status["error"]


def test_file_transfer_sends_the_bundles_and_the_job_unpacks_its_own_copy(mod, work, tmp_path):
    helpers = tmp_path / "helpers"
    helpers.mkdir()
    (helpers / "pk_helper.py").write_text("X = 1\n")
    cache = tmp_path / "node-cache"
    (work / "law.cfg").write_text("[htcondor]\nshared_filesystem: False\n"
                                  f"[job]\npython_executable: {sys.executable}\n"
                                  f"bundle_cache: {cache}\n")
    task = mod.WithHelpers(out=str(tmp_path / "out"), helpers=str(helpers))
    bundle = task.workflow_requires()["helpers"]
    bundle.run()  # luigi runs it first, as a requirement
    archive = bundle.output().abspath
    plan, ads = job_ads(task, {0: [0]})
    assert ads[0]["TransferInput"].split(",") == [f"{plan.directory}/spec_0.json", archive]
    scratch = tmp_path / "scratch"
    transfer_in(ads[0], scratch)
    os.remove(archive)  # only the transferred copy is left
    shutil.rmtree(helpers)
    proc = start_like_htcondor(ads[0], scratch)
    assert proc.wait(timeout=60) == 0, Path(ads[0]["Out"]).read_text()
    written = json.loads((tmp_path / "out" / "char_0.json").read_text())
    key = os.path.basename(archive)[:-len(".tgz")]
    assert written == {"helper": f"{cache}/{key}/pk_helper.py", "job_dir": str(scratch)}
    assert f"bundle {key} unpacked from {scratch}/{key}.tgz" in Path(ads[0]["Out"]).read_text()
