"""
Remote workflows without a cluster: parameters, requirements, where job files go, and the modes
that need no batch system (--dry-run, --print-status, --cancel-jobs with nothing to cancel).
Submitting and polling are tested against the real Slurm in tests/integration/test_slurm*.py.
"""

from __future__ import annotations

import os

import luigi
import pytest

from pipekit.errors import UsageError

TASKS = '''
import os

import luigi
import pipekit as law
law.contrib.load("slurm")


class Up(law.ExternalTask):
    def output(self):
        return law.LocalFileTarget("up.txt")


class Extra(law.ExternalTask):
    def output(self):
        return law.LocalFileTarget("extra.txt")


class Remote(law.slurm.SlurmWorkflow, law.LocalWorkflow):
    n = luigi.IntParameter(default=4)
    label = luigi.Parameter(default="x")

    def create_branch_map(self):
        return list(range(self.n))

    def workflow_requires(self):
        return {"up": Up()}

    def slurm_workflow_requires(self):
        return {"extra": Extra()}

    def output(self):
        return law.LocalFileTarget(f"data/{self.label}/b{self.branch}.txt")


class Gpu(Remote):
    def slurm_job_resources(self, job_num, branches):
        return {"gpu": 1, "slots": len(branches)}


class Elsewhere(Remote):
    def output(self):
        return luigi.LocalTarget(f"plain/{self.branch}.txt")


class Bundled(Remote):
    def workflow_requires(self):
        import os
        from pipekit.bundle import BundleSoftware

        return {"sw": BundleSoftware(source_path=os.path.abspath("software"))}


law.contrib.load("htcondor")


class Both(law.slurm.SlurmWorkflow, law.htcondor.HTCondorWorkflow, law.LocalWorkflow):
    label = luigi.Parameter(default="x")
    tag = luigi.Parameter(default="t", significant=False)

    exclude_params_branch = {"tag"}  # adds to the inherited exclusions, as in law

    def create_branch_map(self):
        return [0, 1]

    def output(self):
        return law.LocalFileTarget(f"data/{self.label}/both{self.branch}.txt")
'''


@pytest.fixture
def mod(task_module):
    return task_module("remote_tasks", TASKS)


def run_cli(args, capfd) -> tuple[int, str]:
    from pipekit.cli.run import execute

    code = execute(args)
    out = capfd.readouterr()
    return code, out.out + out.err


def test_branches_do_not_carry_the_remote_workflow_parameters(mod):
    wf = mod.Remote(retries=2, poll_interval=0.5, tasks_per_job=3, slurm_partition="p")
    branch = wf.req_branch(1)
    assert (branch.retries, branch.poll_interval, branch.tasks_per_job) == (5, 1.0, 1)
    assert branch.slurm_partition == "NO_STR"
    assert branch.task_id == mod.Remote(branch=1).task_id


@pytest.mark.parametrize("workflow", ["slurm", "htcondor"])
def test_a_workflow_of_two_batch_types_keeps_the_parameters_of_both_from_branches_and_jobs(
        mod, workflow):
    wf = mod.Both(workflow=workflow, slurm_partition="p", htcondor_pool="cm", retries=1, tag="x")
    branch = wf.req_branch(1)
    assert (branch.slurm_partition, branch.htcondor_pool, branch.retries, branch.tag) == (
        "NO_STR", "NO_STR", 5, "t")
    assert branch.task_id == mod.Both(branch=1).task_id
    # what a job runs: only the parameters a branch has, whichever batch type submits it
    proxy = wf.workflow_proxy
    plan = proxy.new_plan("t", [0])
    proxy.prepare_submission(plan, {0: [1]}, {}, write=False)
    assert set(proxy.spec_for(plan, 0, [1], 1).params) == {"label"}


def test_requires_are_workflow_and_slurm_requirements_and_pilot_keeps_only_slurms(mod):
    reqs = mod.Remote().requires()
    assert set(reqs) == {"up", "extra"}
    assert set(mod.Remote(pilot=True).requires()) == {"extra"}
    assert set(mod.Remote(workflow="local").requires()) == {"up"}


def test_job_files_go_next_to_the_outputs_and_selections_share_one_ledger(mod, home):
    work = home.parent / "work"
    all_ = mod.Remote().workflow_proxy
    some = mod.Remote(branches=((0,), (1,))).workflow_proxy
    assert all_.ledger_path() == some.ledger_path()
    assert all_.ledger_path().startswith(str(work / "data" / "x" / "pipekit_slurm_Remote_"))
    assert mod.Remote(label="y").workflow_proxy.ledger_path() != all_.ledger_path()


def test_outputs_that_are_not_pipekit_file_targets_need_the_output_directory_hook(mod):
    with pytest.raises(UsageError, match="define slurm_output_directory"):
        mod.Elsewhere().workflow_proxy.ledger_path()


def test_dry_run_prints_script_command_and_spec_and_writes_nothing(mod, home, capfd):
    work = home.parent / "work"
    (work / "up.txt").write_text("")
    (work / "extra.txt").write_text("")
    code, out = run_cli(["remote_tasks.Remote", "--n", "5", "--tasks-per-job", "2",
                         "--parallel-jobs", "2", "--label", "a b; $(x)", "--dry-run"], capfd)
    assert code == 0, out
    assert "dry run: 3 job(s) for 5 branches in 1 submission(s)" in out
    assert "exec " in out and "-m pipekit.job" in out
    assert "sbatch --parsable --array=0-2%2 --job-name=pk_Remote_" in out
    assert '"label": "a b; $(x)"' in out
    assert "----- batch script: " in out and "----- submit command -----" in out
    assert sorted(p.name for p in work.iterdir()) == ["extra.txt", "up.txt"]  # no job files


def test_dry_run_names_the_input_files_a_submission_would_copy(mod, home, capfd):
    work = home.parent / "work"
    for name in ("up.txt", "extra.txt", "boot.sh", "stage.sh"):
        (work / name).write_text("")
    (work / "law.cfg").write_text("[job]\nbootstrap_file: boot.sh\n"
                                  "[slurm]\nstageout_file: stage.sh\n")
    code, out = run_cli(["remote_tasks.Remote", "--dry-run"], capfd)
    assert code == 0, out
    script = out.split("----- batch script: ", 1)[1].split("\n----- ", 1)[0]
    jobs_dir = script.split(" -----", 1)[0].rsplit("/", 1)[0]
    assert f"source {jobs_dir}/boot.sh" in script
    assert f'( source {jobs_dir}/stage.sh "$pk_code" )' in script
    assert f"{work}/boot.sh -> {jobs_dir}/boot.sh" in out
    assert f"{work}/stage.sh -> {jobs_dir}/stage.sh" in out
    assert not (work / "data").exists()  # nothing copied, nothing written


def test_print_status_before_any_submission_says_so(mod, home, capfd):
    code, out = run_cli(["remote_tasks.Remote", "--print-status", "0"], capfd)
    assert code == 0
    assert "slurm jobs: none submitted yet (ledger " in out


def test_cancel_jobs_without_a_ledger_cancels_nothing(mod, home, capfd):
    work = home.parent / "work"
    (work / "up.txt").write_text("")
    (work / "extra.txt").write_text("")
    code, out = run_cli(["remote_tasks.Remote", "--cancel-jobs"], capfd)
    assert code == 0, out
    assert "no jobs to cancel" in out


def test_cancel_and_cleanup_modes_act_even_when_the_outputs_exist(mod):
    wf = mod.Remote(cancel_jobs=True)
    assert wf.complete() is False
    assert mod.Remote(cleanup_jobs=True).complete() is False
    assert isinstance(wf.workflow_proxy.output()["collection"], luigi.Target)


def test_luigi_resources_are_those_of_the_jobs_that_may_run_at_once(mod):
    assert mod.Gpu(n=10, tasks_per_job=3).process_resources() == {"gpu": 4, "slots": 10}
    assert mod.Gpu(n=10, tasks_per_job=3, parallel_jobs=2).process_resources() == {"gpu": 2, "slots": 6}
    assert mod.Remote().process_resources() == {}


def test_remote_workflow_output_has_collection_and_jobs_attributes_as_in_law(mod, home):
    wf = mod.Remote(workflow="slurm")
    out = wf.output()
    assert out.collection is out["collection"] and len(out.collection) == 4
    assert out.jobs.path == wf.workflow_proxy.ledger_path()
    assert out.jobs.optional  # the ledger does not count for completeness
    for b in range(4):
        os.makedirs("data/x", exist_ok=True)
        open(f"data/x/b{b}.txt", "w").close()
    assert not out.jobs.exists() and wf.complete()


def test_dry_run_shows_the_bundles_jobs_unpack_and_the_scratch_directory(mod, home, capfd):
    work = home.parent / "work"
    (work / "software" / "swmod").mkdir(parents=True)
    (work / "software" / "swmod" / "__init__.py").write_text("")
    (work / "extra.txt").write_text("")
    (work / "law.cfg").write_text("[slurm]\nscratch_dir: $TMPDIR\n[job]\nbundle_cache: /scratch/$USER/b\n")
    code, out = run_cli(["remote_tasks.Bundled", "--dry-run"], capfd)
    assert code == 0, out
    archive = next((home / ".law" / "bundles").glob("software.*.tgz"))  # built as a requirement
    assert f"{archive} (used where it is)" in out
    assert 'export PIPEKIT_BUNDLE_CACHE="/scratch/$USER/b"' in out
    assert 'pk_scratch="$(mktemp -d "$TMPDIR"/pipekit_job_XXXXXXXX)"' in out
    assert f'"local_archive": "{archive}"' in out and '"kind": "directory"' in out


def test_print_status_shows_every_attempt_with_its_reason_and_resources(mod, home, capfd):
    from pipekit.job.base import SubmissionPlan
    from pipekit.job.ledger import SubmissionLedger

    proxy = mod.Remote(n=1).workflow_proxy
    ledger = SubmissionLedger.load(proxy.ledger_path())
    job = ledger.new_job([0])
    for i, (state, reason, memory) in enumerate([("failed", "oom", "1G"),
                                                 ("failed", "walltime", "1536M"),
                                                 ("running", None, "1536M")]):
        plan = SubmissionPlan(f"t{i}", str(home / f"t{i}"), [0], f"pk_{i}", "")
        ledger.begin_submission(plan, {0: [0]})
        ledger.confirm_submission(plan.tag, [f"{i}_0"])
        job.state, job.reason, job.resources = state, reason, {"memory": memory}
    ledger.save()
    code, out = run_cli(["remote_tasks.Remote", "--n", "1", "--print-status", "0"], capfd)
    assert code == 0, out
    assert "job 0 (branches 0): running, attempt 3, id 2_0" in out
    assert ("attempts: 1 oom [memory 1G], 2 walltime [memory 1536M], 3 running [memory 1536M]"
            in out)
    job.state, job.reason = "failed", "oom"  # the third ran out of memory again
    ledger.save()
    code, out = run_cli(["remote_tasks.Remote", "--n", "1", "--print-status", "0"], capfd)
    assert "job 0 (branches 0): failed (oom), attempt 3, id 2_0" in out
    assert "3 oom [memory 1536M]" in out


def test_the_retry_policy_comes_from_the_command_line_then_law_cfg(mod, home):
    (home.parent / "work" / "law.cfg").write_text(
        "[job]\nretry_memory_factor: 3\nretry_walltime_max: 12h\n[slurm]\nretry_walltime_factor: 4\n")
    policy = mod.Remote(retry_memory_factor=1.25).workflow_proxy.retry_policy()
    assert (policy.memory_factor, policy.walltime_factor, policy.walltime_max) == (1.25, 4.0, 43200)
    assert mod.Remote().workflow_proxy.retry_policy().memory_factor == 3.0
