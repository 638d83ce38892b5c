"""
HTCondorWorkflow without a pool: law-style loading, its parameters and hooks, where its settings
come from, and the modes that need no HTCondor (``--print-status``, ``--cancel-jobs`` with
nothing to cancel). Submit descriptions are checked with HTCondor's bindings in
test_htcondor_submit.py, the job wrapper in test_htcondor_wrapper.py, the ClassAd reading in
test_htcondor_status.py and the job loop against a stand-in pool in
test_htcondor_standin_pool.py.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.htcondor

TASKS = '''
import luigi
import pipekit as law
law.contrib.load("htcondor")


class Grid(law.htcondor.HTCondorWorkflow, law.LocalWorkflow):
    n = luigi.IntParameter(default=6)

    def create_branch_map(self):
        return list(range(self.n))

    def output(self):
        return law.LocalFileTarget(f"data/g{self.branch}.txt")


class Licensed(Grid):
    def htcondor_job_resources(self, job_num, branches):
        return {"licence": len(branches)}

    def htcondor_stageout_file(self):
        return "from_hook.sh"
'''


@pytest.fixture
def mod(task_module):
    return task_module("htc_wf_tasks", TASKS)


@pytest.fixture
def work(home):
    return home.parent / "work"


def run_cli(args, capfd) -> tuple[int, str]:
    from pipekit.cli.run import execute

    code = execute(args)
    out = capfd.readouterr()
    return code, out.out + out.err


def test_law_style_loading_gives_the_htcondor_names():
    import pipekit as law

    law.contrib.load("htcondor")
    for name in ("HTCondorWorkflow", "HTCondorJobManager", "HTCondorJobFileFactory",
                 "get_htcondor_version"):
        assert getattr(law.htcondor, name) is getattr(__import__("pipekit.batch.htcondor",
                                                                 fromlist=[name]), name)


def test_without_htcondor_installed_the_version_is_none(monkeypatch):
    from pipekit.batch import htcondor

    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setattr(htcondor, "_htcondor_version", None)
    assert htcondor.get_htcondor_version() is None


def test_branches_and_job_specs_do_not_carry_pool_and_scheduler(mod):
    wf = mod.Grid(htcondor_pool="cm.example.org", htcondor_scheduler="s1", retries=1)
    branch = wf.req_branch(2)
    assert (branch.htcondor_pool, branch.htcondor_scheduler) == ("NO_STR", "NO_STR")
    assert branch.task_id == mod.Grid(branch=2).task_id
    assert {"htcondor_pool", "htcondor_scheduler"} <= wf.workflow_proxy.spec_exclude()


def test_pool_and_scheduler_come_from_parameters_before_law_cfg(mod, work):
    (work / "law.cfg").write_text("[htcondor]\npool: cfg-pool\nscheduler: cfg-schedd\n")
    manager = mod.Grid().workflow_proxy.job_manager
    assert manager._target() == ["-pool", "cfg-pool", "-name", "cfg-schedd"]
    manager = mod.Grid(htcondor_pool="param-pool").workflow_proxy.job_manager
    assert manager._target() == ["-pool", "param-pool", "-name", "cfg-schedd"]


def test_stageout_hook_beats_law_cfg_and_jobs_get_the_law_variables_of_the_shell(
        mod, work, monkeypatch):
    monkeypatch.setenv("LAW_CONFIG_FILE", str(work / "law.cfg"))
    (work / "law.cfg").write_text("[htcondor]\nstageout_file: from_cfg.sh\n")
    plan_branches = {0: [0, 1]}
    proxy = mod.Grid().workflow_proxy
    config = proxy.job_config(proxy.new_plan("x", [0]), plan_branches)
    assert config.stageout_file == "from_cfg.sh"
    assert config.env["LAW_CONFIG_FILE"] == str(work / "law.cfg")
    assert config.job_branches == {0: [0, 1]}
    proxy = mod.Licensed().workflow_proxy
    assert proxy.job_config(proxy.new_plan("y", [0]), plan_branches).stageout_file == "from_hook.sh"


def test_file_transfer_jobs_run_python3_unless_an_interpreter_is_configured(mod, work):
    (work / "law.cfg").write_text("[htcondor]\nshared_filesystem: False\n")
    proxy = mod.Grid().workflow_proxy
    config = proxy.job_config(proxy.new_plan("x", [0]), {0: [0]})
    assert config.python == "python3" and "LAW_CONFIG_FILE" not in config.env
    from pipekit.config import Config

    Config.reset()
    (work / "law.cfg").write_text("[htcondor]\nshared_filesystem: False\n"
                                  "[job]\npython_executable: /cvmfs/sw/bin/python3.11\n")
    proxy = mod.Grid().workflow_proxy
    assert proxy.job_config(proxy.new_plan("y", [0]), {0: [0]}).python == "/cvmfs/sw/bin/python3.11"


def test_job_resources_of_the_jobs_running_at_once_are_the_workflows_resources(mod):
    wf = mod.Licensed(tasks_per_job=2, parallel_jobs=2)
    assert wf.process_resources() == {"licence": 4}  # 2 jobs at once, 2 branches each
    assert mod.Licensed(workflow="local").process_resources() == {}
    assert mod.Licensed(branch=1).process_resources() == {}


def test_max_jobs_per_submission_from_law_cfg_splits_submissions(mod, work):
    (work / "law.cfg").write_text("[htcondor]\nmax_jobs_per_submission: 4\n")
    assert mod.Grid().workflow_proxy.job_manager.max_jobs_per_submission() == 4


def test_print_status_before_any_submission_says_so(mod, capfd):
    code, out = run_cli(["htc_wf_tasks.Grid", "--workflow", "htcondor", "--print-status", "0"],
                        capfd)
    assert code == 0, out
    assert "htcondor jobs: none submitted yet (ledger " in out
    assert "/data/pipekit_htcondor_Grid_" in out


def test_cancel_jobs_without_a_ledger_runs_no_htcondor_command(mod, capfd, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")  # any condor_* call would fail
    code, out = run_cli(["htc_wf_tasks.Grid", "--cancel-jobs"], capfd)
    assert code == 0, out
    assert "no jobs to cancel" in out
