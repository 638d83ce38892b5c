"""
The Slurm backend without a cluster: state mapping, parsing, the sbatch command line, and the
batch script — which is run here by bash for real (as Slurm would, with SLURM_ARRAY_TASK_ID set)
to show that it sources the bootstrap file and starts the job. The backend against a running
Slurm is tested in tests/integration/test_slurm*.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from pipekit.batch.slurm import (
    SLURM_STATES,
    SlurmJobConfig,
    SlurmJobFileFactory,
    SlurmJobManager,
    _exit_code,
    _expand_ids,
    map_slurm_state,
    sbatch_resource_args,
    slurm_log_reason,
)
from pipekit.errors import UsageError
from pipekit.job.base import JobInputFile, SubmissionPlan
from pipekit.job.spec import JobSpec


@pytest.mark.parametrize("native, status", [
    ("PENDING", "pending"), ("REQUEUED", "pending"), ("RUNNING", "running"),
    ("COMPLETING", "running"), ("COMPLETED", "finished"), ("FAILED", "failed"),
    ("CANCELLED by 0", "failed"), ("CANCELLED+", "failed"), ("TIMEOUT", "failed"),
    ("OUT_OF_MEMORY", "failed"), ("NODE_FAIL", "failed"), ("WHATEVER", None),
])
def test_slurm_states_map_to_the_job_status_model(native, status):
    assert map_slurm_state(native) == status


@pytest.mark.parametrize("native, reason", [
    ("OUT_OF_MEMORY", "oom"), ("TIMEOUT", "walltime"), ("DEADLINE", "walltime"),
    ("NODE_FAIL", "node_failure"), ("BOOT_FAIL", "node_failure"), ("PREEMPTED", "preempted"),
    ("CANCELLED by 0", "cancelled"), ("FAILED", "exit_code"), ("COMPLETED", None),
    ("RUNNING", None),
])
def test_failed_slurm_states_map_to_the_failure_reasons(native, reason):
    assert SLURM_STATES.reason(native) == reason


# slurmstepd's lines, recorded from the jobs of the single-node Slurm 22.05 of tests/infra
@pytest.mark.parametrize("line, reason", [
    ("slurmstepd-vm: error: *** JOB 9 ON vm CANCELLED AT 2026-12-06T20:30:01 DUE TO TIME LIMIT ***",
     "walltime"),
    ("slurmstepd-vm: error: Detected 1 oom-kill event(s) in StepId=4.batch. Some of your "
     "processes may have been killed by the cgroup out-of-memory handler.", "oom"),
    ("slurmstepd-vm: error: StepId=3.batch exceeded memory limit (436326400 > 104857600), being "
     "killed", "oom"),
    ("slurmstepd-vm: error: *** JOB 12 ON vm CANCELLED AT 2026-12-06T20:31:00 DUE TO PREEMPTION ***",
     "preempted"),
    ("slurmstepd-vm: error: *** JOB 13 ON vm CANCELLED AT 2026-12-06T20:31:00 DUE TO NODE FAILURE "
     "***", "node_failure"),
    ("slurmstepd-vm: error: *** JOB 14 ON vm CANCELLED AT 2026-12-06T20:31:00 ***", None),
    ("branch 3 failed: MemoryError", None),
])
def test_slurmstepd_messages_in_a_job_log_give_the_failure_reason(line, reason):
    assert slurm_log_reason(f"pipekit job 0 attempt 1: ...\n{line}\n") == reason
    assert SlurmJobManager().reason_from_log(line) == reason


def test_exit_codes_and_signals_from_slurm_notation():
    assert _exit_code("0:0") == 0
    assert _exit_code("1:0") == 1
    assert _exit_code("0:15") == 143
    assert _exit_code("") is None


def test_array_ids_are_expanded():
    assert _expand_ids("12_3") == ["12_3"]
    assert _expand_ids("12_[1-3,7%2]") == ["12_1", "12_2", "12_3", "12_7"]
    assert _expand_ids("") == []


def plan_in(tmp_path, n=3, parallel=None) -> SubmissionPlan:
    return SubmissionPlan(tag="abc", directory=str(tmp_path / "sub"), job_nums=list(range(10, 10 + n)),
                          job_name="pk_Fam_abc", cwd=str(tmp_path / "work dir"), parallel=parallel)


def test_one_sbatch_command_for_the_whole_array_with_resources(tmp_path):
    config = SlurmJobConfig(partition="short", walltime="1h30m", memory="2G", cpus=4, gpus=1,
                            extra_args=["--qos=low"])
    cmd = SlurmJobManager().submit_command(plan_in(tmp_path, 200, parallel=10), "/x/job.sh", config)
    assert cmd[:5] == ["sbatch", "--parsable", "--array=0-199%10", "--job-name=pk_Fam_abc",
                       f"--output={tmp_path}/sub/log_%a.txt"]
    assert f"--chdir={tmp_path}/work dir" in cmd  # one argument, spaces and all
    assert cmd[-7:] == ["--partition=short", "--time=90", "--mem=2G", "--cpus-per-task=4",
                        "--gres=gpu:1", "--qos=low", "/x/job.sh"]


def test_a_single_job_is_array_index_zero(tmp_path):
    cmd = SlurmJobManager().submit_command(plan_in(tmp_path, 1), "/x/job.sh", SlurmJobConfig())
    assert "--array=0" in cmd


def test_walltime_accepts_seconds_and_durations_and_rejects_nonsense():
    assert sbatch_resource_args(SlurmJobConfig(walltime=3600)) == ["--time=60"]
    assert sbatch_resource_args(SlurmJobConfig(walltime="01:30:00")) == ["--time=90"]
    assert sbatch_resource_args(SlurmJobConfig(walltime=61)) == ["--time=2"]
    with pytest.raises(UsageError, match="cannot read the Slurm walltime"):
        sbatch_resource_args(SlurmJobConfig(walltime="soon"))


def test_job_config_defaults_come_from_the_slurm_section(home):
    (home.parent / "work" / "law.cfg").write_text(textwrap.dedent("""
        [slurm]
        partition: gpu
        memory: 4G
        cpus: 2
        sbatch_args: --qos=high --account="my group"
    """))
    config = SlurmJobFileFactory().new_config()
    assert (config.partition, config.memory, config.cpus, config.gpus) == ("gpu", "4G", 2, None)
    assert config.extra_args == ["--qos=high", "--account=my group"]


def test_custom_content_becomes_sbatch_lines_and_values_with_spaces_are_quoted():
    line = SlurmJobFileFactory.create_line
    assert line(("qos", "short")) == "#SBATCH --qos=short"
    assert line(("exclusive",)) == "#SBATCH --exclusive"
    assert line(("comment", "two words")) == '#SBATCH --comment="two words"'
    assert line("# plain line") == "# plain line"
    with pytest.raises(UsageError, match="newline"):
        line(("comment", "a\nb"))
    with pytest.raises(UsageError, match="double quotes"):
        line(("comment", 'say "hi" there'))


TASK = '''
import os
import luigi
import pipekit as law
law.contrib.load("slurm")


class ScriptTask(law.slurm.SlurmWorkflow):
    out = luigi.Parameter()
    fail = luigi.IntParameter(default=-1)

    def create_branch_map(self):
        return [10, 20]

    def output(self):
        return law.LocalFileTarget(os.path.join(self.out, f"{self.branch}.json"))

    def run(self):
        if self.branch == self.fail:
            raise RuntimeError(f"branch {self.branch} fails")
        self.output().dump({"data": self.branch_data, "boot": os.environ.get("BOOT", "")},
                           formatter="json")
'''


@pytest.fixture
def script_setup(tmp_path, task_module):
    module = task_module("script_tasks", TASK)
    task = module.ScriptTask(out=str(tmp_path / "out"))
    plan = plan_in(tmp_path, 2)
    os.makedirs(plan.cwd)
    for i, branch in enumerate([0, 1]):
        JobSpec.from_workflow(task, [branch], task.workflow_proxy.spec_exclude(),
                              job_num=plan.job_nums[i]).dump(plan.spec_file(i))
    return plan


def run_script(script: str, index: int) -> subprocess.CompletedProcess:
    env = dict(os.environ, SLURM_ARRAY_TASK_ID=str(index))
    return subprocess.run(["bash", script], env=env, capture_output=True, text=True, timeout=60)


def test_batch_script_sources_the_bootstrap_file_and_runs_its_array_index(tmp_path, script_setup):
    plan = script_setup
    boot = tmp_path / "boot.sh"
    boot.write_text("export BOOT={{greeting}}\n")
    config = SlurmJobConfig(bootstrap_file=JobInputFile(str(boot), render=True),
                            render_variables={"greeting": "hello"}, env={"EXTRA": "a b ' c"})
    script = SlurmJobFileFactory().create(plan, config)
    assert os.access(script, os.X_OK)
    boot.write_text("export BOOT=changed-after-submission\n")  # jobs use the copy
    proc = run_script(script, 1)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads((tmp_path / "out" / "1.json").read_text()) == {"data": 20, "boot": "hello"}
    assert not (tmp_path / "out" / "0.json").exists()
    assert json.loads(open(plan.status_file(1)).read())["exit_code"] == 0


def test_failing_bootstrap_exits_3_with_an_exit_status_file(tmp_path, script_setup):
    plan = script_setup
    boot = tmp_path / "broken.sh"
    boot.write_text("return 1\n")
    script = SlurmJobFileFactory().create(plan, SlurmJobConfig(bootstrap_file=str(boot)))
    proc = run_script(script, 0)
    assert proc.returncode == 3
    status = json.loads(open(plan.status_file(0)).read())
    assert status["exit_code"] == 3 and "bootstrap file" in status["error"]


def test_missing_bootstrap_file_is_a_usage_error(tmp_path, script_setup):
    with pytest.raises(UsageError, match="does not exist"):
        SlurmJobFileFactory().create(script_setup, SlurmJobConfig(bootstrap_file=str(tmp_path / "nope.sh")))


def test_invalid_environment_variable_name_is_refused(tmp_path, script_setup):
    with pytest.raises(UsageError, match="not a valid shell name"):
        SlurmJobFileFactory().create(script_setup, SlurmJobConfig(env={"A-B": "1"}))


def failing_branch_spec(tmp_path, plan, index: int) -> None:
    """Make array index *index* run a branch that raises."""
    task = sys.modules["script_tasks"].ScriptTask(out=str(tmp_path / "out"), fail=index)
    JobSpec.from_workflow(task, [index], task.workflow_proxy.spec_exclude(),
                          job_num=plan.job_nums[index]).dump(plan.spec_file(index))


def test_stageout_file_runs_after_the_branches_with_their_exit_code_also_after_a_failure(
        tmp_path, script_setup):
    plan = script_setup
    failing_branch_spec(tmp_path, plan, 1)
    stageout = tmp_path / "stageout.sh"
    stageout.write_text('echo "code $1, boot $BOOT" > "$STAGED/staged_$pk_idx.txt"\n'
                        'cp "$OUT"/*.json "$STAGED"/ 2>/dev/null || true\n')
    boot = tmp_path / "boot.sh"
    boot.write_text("export BOOT=booted\n")
    staged = tmp_path / "staged"
    staged.mkdir()
    config = SlurmJobConfig(bootstrap_file=str(boot), stageout_file=str(stageout),
                            env={"STAGED": str(staged), "OUT": str(tmp_path / "out")})
    script = SlurmJobFileFactory().create(plan, config)
    assert run_script(script, 0).returncode == 0
    assert run_script(script, 1).returncode == 1  # the branch's failure, not the stage-out's
    assert (staged / "staged_0.txt").read_text() == "code 0, boot booted\n"
    assert (staged / "staged_1.txt").read_text() == "code 1, boot booted\n"
    assert sorted(p.name for p in staged.glob("*.json")) == ["0.json"]
    assert json.loads(open(plan.status_file(1)).read())["exit_code"] == 1


def test_failing_stageout_exits_4_with_an_exit_status_file_naming_it(tmp_path, script_setup):
    plan = script_setup
    failing_branch_spec(tmp_path, plan, 1)
    stageout = tmp_path / 'stage "out" 100%.sh'  # quotes and % reach the status file intact
    stageout.write_text("echo copying; exit 7\n")  # `exit`: must not end the job unreported
    script = SlurmJobFileFactory().create(plan, SlurmJobConfig(stageout_file=str(stageout)))
    copy = os.path.join(plan.directory, stageout.name)
    assert run_script(script, 0).returncode == 4
    assert json.loads(open(plan.status_file(0)).read()) == {
        "exit_code": 4, "error": f"sourcing the stage-out file {copy} failed"}
    assert run_script(script, 1).returncode == 4
    assert json.loads(open(plan.status_file(1)).read())["error"] == (
        f"sourcing the stage-out file {copy} failed, after the branches failed with exit code 1")


def test_bootstrap_and_stageout_files_of_the_same_name_are_refused(tmp_path, script_setup):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "env.sh").write_text("")
    (tmp_path / "env.sh").write_text("")
    config = SlurmJobConfig(bootstrap_file=str(tmp_path / "env.sh"),
                            stageout_file=str(tmp_path / "a" / "env.sh"))
    with pytest.raises(UsageError, match="share the name 'env.sh'"):
        SlurmJobFileFactory().create(script_setup, config)
