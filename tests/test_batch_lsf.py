"""
The LSF backend's commands and files without LSF (no LSF cluster can exist here): the bsub
command line, resources and their units, paths bsub cannot take, the [lsf] section,
``--dry-run``, and the batch script run by bash for real with LSB_JOBINDEX set. The job loop
against a stand-in cluster is in test_lsf_standin.py.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pipekit.batch.lsf import (
    LSFJobConfig,
    LSFJobFileFactory,
    LSFJobManager,
    bsub_resource_args,
    lsf_path,
)
from pipekit.errors import UsageError
from pipekit.job.base import SubmissionPlan
from pipekit.job.spec import JobSpec


def plan_in(tmp_path, n=3, parallel=None) -> SubmissionPlan:
    return SubmissionPlan(tag="abc", directory=str(tmp_path / "sub dir"), job_nums=list(range(10, 10 + n)),
                          job_name="pk_Fam_abc", cwd=str(tmp_path / "work"), parallel=parallel,
                          first_index=1)


def test_one_bsub_array_with_throttle_output_pattern_and_resources(tmp_path):
    config = LSFJobConfig(queue="long", project="physics", walltime="1h30m", memory="2G", cpus=4,
                          gpus=1, custom_content=[("R", "select[type==X86_64]"), "# a comment"],
                          extra_args=["-app", "big"])
    script = str(tmp_path / "sub dir" / "job.sh")
    cmd = LSFJobManager().submit_command(plan_in(tmp_path, 200, parallel=10), script, config)
    assert cmd[:7] == ["bsub", "-J", "pk_Fam_abc[1-200]%10", "-o", f"{tmp_path}/sub dir/log_%I.txt",
                       "-cwd", f"{tmp_path}/work"]
    assert cmd[7:-1] == ["-q", "long", "-P", "physics", "-W", "90", "-M", "2048MB", "-R",
                         "rusage[mem=2048MB]", "-n", "4", "-R", "span[hosts=1]", "-gpu", "num=1",
                         "-R", "select[type==X86_64]", "-app", "big"]
    # bsub hands its command to a shell on the host: the path is one quoted word there
    assert shlex.split(cmd[-1]) == [script]


def test_memory_in_the_clusters_unit_for_older_lsf():
    assert bsub_resource_args(LSFJobConfig(memory="2G", memory_unit="MB"))[:2] == ["-M", "2048"]
    assert bsub_resource_args(LSFJobConfig(memory="1500M", memory_unit="GB"))[:2] == ["-M", "2"]
    assert bsub_resource_args(LSFJobConfig(memory="1G", memory_unit="KB"))[:2] == ["-M", "1048576"]
    with pytest.raises(UsageError, match="memory_unit 'PB' is not KB, MB, GB or TB"):
        bsub_resource_args(LSFJobConfig(memory="1G", memory_unit="PB"))
    with pytest.raises(UsageError, match="cannot read the LSF walltime"):
        bsub_resource_args(LSFJobConfig(walltime="later"))


def test_a_log_directory_with_bsubs_patterns_is_refused_and_other_percents_are_kept():
    assert lsf_path("/data/100%/run", "job logs") == "/data/100%/run"
    with pytest.raises(UsageError, match="lsf_output_directory"):
        lsf_path("/data/run_%J", "job logs")


def test_job_config_defaults_come_from_the_lsf_section(home):
    (home.parent / "work" / "law.cfg").write_text(textwrap.dedent("""
        [lsf]
        queue: short
        walltime: 30m
        memory: 1G
        memory_unit: MB
        bsub_args: -G physics -app "my app"
    """))
    config = LSFJobFileFactory().new_config()
    assert (config.queue, config.walltime, config.memory, config.memory_unit) == ("short", "30m", "1G", "MB")
    assert config.extra_args == ["-G", "physics", "-app", "my app"]


TASK = '''
import os
import luigi
import pipekit as law
law.contrib.load("lsf")


class LsfScriptTask(law.lsf.LSFWorkflow):
    out = luigi.Parameter()

    def create_branch_map(self):
        return [10, 20, 30]

    def output(self):
        return law.LocalFileTarget(os.path.join(self.out, f"{self.branch}.json"))

    def run(self):
        self.output().dump({"data": self.branch_data}, formatter="json")

    def lsf_job_config(self, config, job_num, branches):
        config.custom_content.append(("R", "select[mem>4000]"))
        return config
'''


@pytest.fixture
def lsf_tasks(task_module):
    return task_module("lsf_script_tasks", TASK)


def test_batch_script_runs_the_spec_of_its_element_index(tmp_path, lsf_tasks):
    task = lsf_tasks.LsfScriptTask(out=str(tmp_path / "out"))
    plan = plan_in(tmp_path, 2)
    os.makedirs(plan.cwd, exist_ok=True)  # the task_module fixture's work directory
    for i, branch in enumerate([0, 2]):
        JobSpec.from_workflow(task, [branch], task.workflow_proxy.spec_exclude(),
                              job_num=plan.job_nums[i]).dump(plan.spec_file(i))
    script = LSFJobFileFactory().create(plan, LSFJobConfig(custom_content=["# site note"]))
    text = Path(script).read_text()
    assert "array elements 1-2" in text and "# site note" in text
    env = dict(os.environ, LSB_JOBINDEX="2")
    proc = subprocess.run(["bash", script], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads((tmp_path / "out" / "2.json").read_text()) == {"data": 30}
    assert json.loads(Path(plan.status_file(1)).read_text())["exit_code"] == 0


def test_dry_run_prints_the_script_and_the_bsub_command_and_writes_nothing(tmp_path, lsf_tasks, home):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LAW_", "PIPEKIT_"))}
    env["PYTHONPATH"] = str(Path(lsf_tasks.__file__).parent)
    pipekit = os.path.join(os.path.dirname(sys.executable), "pipekit")
    out = tmp_path / "out"
    proc = subprocess.run(
        [pipekit, "run", "lsf_script_tasks.LsfScriptTask", "--out", str(out), "--parallel-jobs", "2",
         "--lsf-queue", "short", "--dry-run"],
        cwd=home.parent / "work", env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    text = proc.stdout
    assert "3 job(s) for 3 branches in 1 submission(s)" in text
    assert '"${LSB_JOBINDEX:-1}"' in text and "-m pipekit.job" in text
    bsub = shlex.split(text.split("----- submit command -----\n", 1)[1].splitlines()[0])
    assert bsub[:2] == ["bsub", "-J"] and bsub[2].endswith("[1-3]%2")
    assert bsub[3] == "-o" and bsub[4].endswith("/log_%I.txt")
    assert ["-q", "short"] == bsub[7:9] and ["-R", "select[mem>4000]"] == bsub[9:11]
    assert "spec_1.json (job 0, the first of 3)" in text
    assert not out.exists()
