"""
Node-local scratch directories (pipekit.job.scratch), run for real: bash executes a Slurm batch
script (SLURM_ARRAY_TASK_ID set, as Slurm would) whose job runs ``python -m pipekit.job`` in a
fresh directory below ``scratch_dir``, with its spec and input files copied there, writes its
exit-status file into the submission directory, and leaves nothing behind.
"""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from pipekit.batch.slurm import SlurmJobConfig, SlurmJobFileFactory
from pipekit.errors import UsageError
from pipekit.job.base import SubmissionPlan
from pipekit.job.scratch import node_word
from pipekit.job.spec import JobSpec

TASK = '''
import json, os
import luigi
import pipekit as law
law.contrib.load("slurm")


class Where(law.slurm.SlurmWorkflow):
    out = luigi.Parameter()
    relative = luigi.BoolParameter(default=False)

    def create_branch_map(self):
        return [0]

    def output(self):
        if self.relative:
            return law.LocalFileTarget("where.json")  # relative: resolved in the job's directory
        return law.LocalFileTarget(os.path.join(self.out, "where.json"))

    def run(self):
        self.output().dump({"cwd": os.getcwd(), "job_dir": os.environ.get("PIPEKIT_JOB_DIR"),
                            "boot": os.environ.get("BOOT"), "files": sorted(os.listdir("."))},
                           formatter="json")
'''


@pytest.fixture
def job(tmp_path, task_module):
    module = task_module("scratch_tasks", TASK)

    def make(**params):
        task = module.Where(out=str(tmp_path / "out"), **params)
        plan = SubmissionPlan(tag="t1", directory=str(tmp_path / "sub"), job_nums=[0],
                              job_name="pk_Where_t1", cwd=str(tmp_path / "submit"))
        os.makedirs(plan.directory, exist_ok=True)
        JobSpec.from_workflow(task, [0], task.workflow_proxy.spec_exclude(), job_num=0).dump(
            plan.spec_file(0))
        return plan

    return make


def run(script, **env):
    return subprocess.run(["bash", script], env=dict(os.environ, SLURM_ARRAY_TASK_ID="0", **env),
                          capture_output=True, text=True, timeout=60)


def test_the_job_runs_in_a_fresh_scratch_directory_with_its_inputs_and_removes_it(tmp_path, job):
    plan = job()
    boot = tmp_path / "boot.sh"
    boot.write_text("export BOOT=from-the-copy\n")
    scratch = tmp_path / "node-tmp"
    scratch.mkdir()
    config = SlurmJobConfig(bootstrap_file=str(boot), scratch_dir="$NODE_TMP")
    script = SlurmJobFileFactory().create(plan, config)
    proc = run(script, NODE_TMP=str(scratch))  # expanded on the node, not at submission
    assert proc.returncode == 0, proc.stdout + proc.stderr
    where = json.loads((tmp_path / "out" / "where.json").read_text())
    assert os.path.dirname(where["cwd"]) == str(scratch)
    assert os.path.basename(where["cwd"]).startswith("pipekit_job_")
    assert where["job_dir"] == where["cwd"] and where["boot"] == "from-the-copy"
    assert where["files"] == ["boot.sh", "spec_0.json"]
    assert "working in the scratch directory" in proc.stdout
    assert os.listdir(scratch) == []  # removed when the job ended
    assert json.loads(open(plan.status_file(0)).read())["exit_code"] == 0


def test_keep_scratch_leaves_the_directory_for_inspection(tmp_path, job):
    plan = job()
    config = SlurmJobConfig(scratch_dir=str(tmp_path), keep_scratch=True)
    proc = run(SlurmJobFileFactory().create(plan, config))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    kept = [p for p in os.listdir(tmp_path) if p.startswith("pipekit_job_")]
    assert len(kept) == 1 and os.listdir(tmp_path / kept[0]) == ["spec_0.json"]


def test_a_scratch_directory_that_cannot_be_made_fails_the_job_with_code_3(tmp_path, job):
    plan = job()
    config = SlurmJobConfig(scratch_dir=str(tmp_path / "no" / "such" / "dir"))
    proc = run(SlurmJobFileFactory().create(plan, config))
    assert proc.returncode == 3
    status = json.loads(open(plan.status_file(0)).read())
    assert status == {"exit_code": 3, "error": "cannot create a scratch directory below "
                      f"{tmp_path}/no/such/dir on this node"}


def test_an_output_inside_the_scratch_directory_fails_the_job_instead_of_vanishing(tmp_path, job):
    plan = job(relative=True)
    proc = run(SlurmJobFileFactory().create(plan, SlurmJobConfig(scratch_dir=str(tmp_path))))
    assert proc.returncode == 1
    error = json.loads(open(plan.status_file(0)).read())["error"]
    assert "where.json is inside the job's own directory, which is removed when the job ends" in error


@pytest.mark.parametrize("backend", ["slurm", "sge", "lsf"])
def test_in_scratch_mode_jobs_start_in_the_submission_directory_not_the_submitting_one(
        tmp_path, backend):
    import importlib

    mod = importlib.import_module(f"pipekit.batch.{backend}")
    name = {"slurm": "Slurm", "sge": "SGE", "lsf": "LSF"}[backend]
    manager, config_cls = getattr(mod, f"{name}JobManager")(), getattr(mod, f"{name}JobConfig")
    plan = SubmissionPlan(tag="t1", directory=str(tmp_path / "sub"), job_nums=[0],
                          job_name="pk_Where_t1", cwd=str(tmp_path / "submit"))
    option = {"slurm": "--chdir={}", "sge": "-wd {}", "lsf": "-cwd {}"}[backend]
    scratch = " ".join(manager.submit_command(plan, "job.sh", config_cls(scratch_dir="$TMPDIR")))
    plain = " ".join(manager.submit_command(plan, "job.sh", config_cls()))
    assert option.format(plan.directory) in scratch and str(plan.cwd) not in scratch
    assert option.format(plan.cwd) in plain


@pytest.mark.parametrize("value", ["$(rm -rf /)", "`id`", 'a"b', "a\\b", ""])
def test_scratch_dir_words_that_would_run_commands_are_refused(value):
    with pytest.raises(UsageError, match="scratch_dir"):
        node_word(value, "scratch_dir")


def test_scratch_dir_words_expand_variables_and_home_on_the_node():
    assert node_word("${TMPDIR:-/tmp}/pk", "scratch_dir") == '"${TMPDIR:-/tmp}/pk"'
    assert node_word("~/scratch", "scratch_dir") == '"$HOME/scratch"'
