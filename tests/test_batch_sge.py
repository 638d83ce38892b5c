"""
The Grid Engine backend without a cell: the qsub command line, resources, paths qsub cannot
take, the [sge] section, batch script directives, ``--dry-run``, and the batch script — run
here by bash for real, as Grid Engine would with SGE_TASK_ID set (tasks count from 1). The
backend against a running cell is tested in tests/integration/test_sge.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pipekit.batch.sge import (
    SGEJobConfig,
    SGEJobFileFactory,
    SGEJobManager,
    qsub_resource_args,
    sge_path,
)
from pipekit.errors import UsageError
from pipekit.job.base import JobInputFile, SubmissionPlan
from pipekit.job.spec import JobSpec


def plan_in(tmp_path, n=3, parallel=None) -> SubmissionPlan:
    return SubmissionPlan(tag="abc", directory=str(tmp_path / "sub"), job_nums=list(range(10, 10 + n)),
                          job_name="pk_Fam_abc", cwd=str(tmp_path / "work dir"), parallel=parallel,
                          first_index=1)


def test_one_qsub_for_the_whole_array_throttled_with_its_resources(tmp_path):
    config = SGEJobConfig(queue="short.q", project="phys", walltime="1h30m", memory="2G", cpus=4,
                          gpus=1, extra_args=["-l", "scratch=10G"])
    cmd = SGEJobManager().submit_command(plan_in(tmp_path, 200, parallel=10), "/x/job.sh", config)
    assert cmd[:8] == ["qsub", "-terse", "-t", "1-200", "-tc", "10", "-N", "pk_Fam_abc"]
    assert cmd[cmd.index("-o") + 1] == f":{tmp_path}/sub/log_$TASK_ID.txt"
    assert cmd[cmd.index("-wd") + 1] == f"{tmp_path}/work dir"  # one argument, spaces and all
    assert cmd[cmd.index("-S") + 1] == "/bin/bash"
    assert cmd[-12:] == ["-q", "short.q", "-P", "phys", "-l", "h_rt=5400,h_vmem=2048M,gpu=1",
                         "-pe", "smp", "4", "-l", "scratch=10G", "/x/job.sh"]


def test_the_tasks_are_numbered_from_one_and_name_the_plan_files_by_their_task_id(tmp_path):
    plan = plan_in(tmp_path, 2)
    cmd = SGEJobManager().submit_command(plan, "/x/job.sh", SGEJobConfig())
    assert cmd[2:4] == ["-t", "1-2"] and "-tc" not in cmd
    assert plan.spec_file(0).endswith("spec_1.json") and plan.log_file(1).endswith("log_2.txt")
    assert SGEJobManager().ids.ids("77", 2) == ["77.1", "77.2"]


def test_resources_accept_durations_and_units_and_reject_nonsense():
    assert qsub_resource_args(SGEJobConfig(walltime="01:30:00", memory=512)) == ["-l", "h_rt=5400,h_vmem=512M"]
    assert qsub_resource_args(SGEJobConfig(cpus=1)) == []  # one slot needs no parallel environment
    assert qsub_resource_args(SGEJobConfig(cpus=8, parallel_environment="mpi")) == ["-pe", "mpi", "8"]
    with pytest.raises(UsageError, match="cannot read the Grid Engine walltime"):
        qsub_resource_args(SGEJobConfig(walltime="soon"))
    with pytest.raises(UsageError, match="cannot read the Grid Engine memory"):
        qsub_resource_args(SGEJobConfig(memory="plenty"))


def test_a_log_directory_qsub_would_misread_is_refused_with_the_fix():
    assert sge_path("/data/a:b", "log_$TASK_ID.txt", "job logs") == ":/data/a:b/log_$TASK_ID.txt"
    for bad in ("/data/a,b", "/data/$USER/x", "/data/$TASK_ID"):
        with pytest.raises(UsageError, match="sge_output_directory"):
            sge_path(bad, "log_$TASK_ID.txt", "job logs")
    assert sge_path("/data/100%/$x", "log.txt", "job logs") == ":/data/100%/$x/log.txt"


def test_job_config_defaults_come_from_the_sge_section(home):
    (home.parent / "work" / "law.cfg").write_text(textwrap.dedent("""
        [sge]
        queue: long.q
        memory: 4G
        walltime: 2h
        cpus: 2
        parallel_environment: openmp
        qsub_args: -P physics -l "tmpfree=1G"
    """))
    config = SGEJobFileFactory().new_config()
    assert (config.queue, config.memory, config.walltime, config.cpus) == ("long.q", "4G", "2h", 2)
    assert config.parallel_environment == "openmp"
    assert config.extra_args == ["-P", "physics", "-l", "tmpfree=1G"]


def test_a_broken_qsub_args_quote_is_one_usage_error(home):
    (home.parent / "work" / "law.cfg").write_text('[sge]\nqsub_args: -N "x\n')
    with pytest.raises(UsageError, match=r"\[sge\] qsub_args .* fix its quotes"):
        SGEJobFileFactory().new_config()


def test_custom_content_becomes_grid_engine_directives():
    line = SGEJobFileFactory.create_line
    assert line(("l", "h_rt=3600")) == "#$ -l h_rt=3600"
    assert line(("-notify",)) == "#$ -notify"
    assert line("# plain") == "# plain"
    with pytest.raises(UsageError, match="spaces"):
        line(("ac", "two words"))
    with pytest.raises(UsageError, match="newline"):
        line("#$ -l a\n#$ -l b")


TASK = '''
import os
import luigi
import pipekit as law
law.contrib.load("sge")


class SgeScriptTask(law.sge.SGEWorkflow):
    out = luigi.Parameter()
    text = luigi.Parameter(default="plain")

    def create_branch_map(self):
        return [10, 20, 30]

    def output(self):
        return law.LocalFileTarget(os.path.join(self.out, f"{self.branch}.json"))

    def run(self):
        self.output().dump({"data": self.branch_data, "boot": os.environ.get("BOOT", ""),
                            "law": os.environ.get("LAW_MARKER", "")}, formatter="json")
'''


@pytest.fixture
def sge_tasks(task_module):
    return task_module("sge_script_tasks", TASK)


def test_batch_script_runs_the_spec_of_its_task_id_after_the_bootstrap_file(tmp_path, sge_tasks):
    task = sge_tasks.SgeScriptTask(out=str(tmp_path / "out"))
    plan = plan_in(tmp_path, 2)
    os.makedirs(plan.cwd)
    for i, branch in enumerate([0, 1]):
        JobSpec.from_workflow(task, [branch], task.workflow_proxy.spec_exclude(),
                              job_num=plan.job_nums[i]).dump(plan.spec_file(i))
    boot = tmp_path / "boot.sh"
    boot.write_text("export BOOT={{greeting}}\n")
    config = SGEJobConfig(bootstrap_file=JobInputFile(str(boot), render=True),
                          render_variables={"greeting": "hello"})
    script = SGEJobFileFactory().create(plan, config)
    assert "array tasks 1-2" in Path(script).read_text()
    env = dict(os.environ, SGE_TASK_ID="2")  # Grid Engine's second task: plan position 1
    proc = subprocess.run(["bash", script], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads((tmp_path / "out" / "1.json").read_text())["boot"] == "hello"
    assert not (tmp_path / "out" / "0.json").exists()
    assert json.loads(Path(plan.status_file(1)).read_text())["exit_code"] == 0
    assert plan.status_file(1).endswith("status_2.json")


def test_dry_run_prints_the_script_and_the_qsub_command_and_writes_nothing(tmp_path, sge_tasks, home):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LAW_", "PIPEKIT_"))}
    env["PYTHONPATH"] = str(Path(sge_tasks.__file__).parent)
    pipekit = os.path.join(os.path.dirname(sys.executable), "pipekit")
    out = tmp_path / "out"
    proc = subprocess.run(
        [pipekit, "run", "sge_script_tasks.SgeScriptTask", "--out", str(out), "--tasks-per-job",
         "2", "--parallel-jobs", "1", "--sge-queue", "test.q", "--dry-run"],
        cwd=home.parent / "work", env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    text = proc.stdout
    assert "2 job(s) for 3 branches in 1 submission(s)" in text
    assert "----- batch script: " in text and '"${SGE_TASK_ID:-1}"' in text
    qsub = text.split("----- submit command -----\n", 1)[1].splitlines()[0]
    assert qsub.startswith("qsub -terse -t 1-2 -tc 1 -N pk_SgeScriptTask_")
    assert "-q test.q" in qsub and qsub.endswith("/job.sh")
    assert "spec_1.json (job 0, the first of 2)" in text
    assert not out.exists()


def test_jobs_get_pipekits_own_variables_because_qsub_passes_no_environment(
        tmp_path, sge_tasks, monkeypatch):
    monkeypatch.setenv("LAW_MARKER", "from-submitter")
    monkeypatch.setenv("OTHER_MARKER", "not-forwarded")
    task = sge_tasks.SgeScriptTask(out=str(tmp_path / "out"))
    plan = plan_in(tmp_path, 1)
    config = task.workflow_proxy.job_config(plan, {10: [0]})
    assert config.env.get("LAW_MARKER") == "from-submitter" and "OTHER_MARKER" not in config.env
