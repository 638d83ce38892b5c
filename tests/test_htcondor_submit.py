"""
The submit descriptions HTCondorWorkflow writes, read by HTCondor's official Python bindings
(``htcondor<24.1``, the classic module): ``htcondor.Submit(text)`` parses a description the way
condor_submit does, and ``jobs(count=0, itemdata=..., clusterid=...)`` expands it offline into
the full job ClassAds a schedd would queue. Every test here generates a description through the
real workflow code and asserts on those ads: executable, arguments per job, output / error / log
paths, requirements, resource requests, the number of jobs, and the file transfer lists.

No HTCondor daemon exists on these machines, so nothing here submits; what a pool does with the
ads is not tested (see docs/htcondor.md).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pytest

from pipekit.errors import UsageError

pytestmark = [pytest.mark.htcondor, pytest.mark.usefixtures("htcondor_bindings")]


TASKS = '''
import os
import luigi
import pipekit as law
law.contrib.load("htcondor")


class Chars(law.htcondor.HTCondorWorkflow, law.LocalWorkflow):
    n = luigi.IntParameter(default=5)
    text = luigi.Parameter(default="plain")

    def create_branch_map(self):
        return {i: chr(97 + i) for i in range(self.n)}

    def output(self):
        return law.LocalFileTarget(f"data/char_{self.branch}.json")

    def run(self):
        self.output().dump({"char": self.branch_data, "text": self.text,
                            "cluster": os.environ.get("LAW_HTCONDOR_JOB_CLUSTER"),
                            "boot": os.environ.get("BOOT", "")})


class Tuned(Chars):
    def htcondor_job_config(self, config, job_num, branches):
        config.memory = "3 GB"
        config.custom_content.append(("priority", 7))
        config.custom_content.append(f"+FirstJob = {job_num}")
        return config
'''


@pytest.fixture(scope="module")
def htcondor():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "no condor_config": the bindings need none offline
        import htcondor

    return htcondor


@pytest.fixture
def mod(task_module):
    return task_module("htc_tasks", TASKS)


@pytest.fixture
def work(home) -> Path:
    return home.parent / "work"


def submission(task, branches_per_job: dict[int, list[int]], tag: str = "t0"):
    """Write the files of one submission through the workflow; returns (plan, description)."""
    proxy = task.workflow_proxy
    plan = proxy.new_plan(tag, list(branches_per_job))
    script, _ = proxy.prepare_submission(plan, branches_per_job, {})
    return plan, Path(script).read_text()


def expand(htcondor, text: str, cluster: int = 4711) -> tuple[object, list]:
    """The job ClassAds HTCondor builds from the description *text*, offline."""
    sub = htcondor.Submit(text)
    items = list(sub.itemdata())
    return sub, list(sub.jobs(count=0, itemdata=iter(items), clusterid=cluster))


def test_one_description_queues_every_job_in_one_cluster_with_its_own_files(mod, work, htcondor):
    plan, text = submission(mod.Chars(), {0: [0, 1], 1: [2, 3], 2: [4]})
    sub, ads = expand(htcondor, text)
    d = plan.directory
    assert sub.getQArgs().startswith("pk_index, pk_job, pk_branches from")
    assert len(ads) == 3 and {ad["ClusterId"] for ad in ads} == {4711}
    for i, ad in enumerate(ads):
        assert ad["ProcId"] == i
        assert ad["Cmd"] == f"{d}/job.sh" and ad["Arguments"] == str(i)
        assert (ad["Out"], ad["Err"], ad["UserLog"]) == (
            plan.log_file(i), f"{d}/err_{i}.txt", f"{d}/condor_{i}.log")
        assert ad["Iwd"] == str(work) and ad["JobUniverse"] == 5  # vanilla
        assert (ad["JobBatchName"], ad["PipekitTag"]) == (plan.job_name, plan.tag)
        assert ad["ShouldTransferFiles"] == "NO"
        assert "TARGET.FileSystemDomain == MY.FileSystemDomain" in str(ad["Requirements"])
        assert f"LAW_HTCONDOR_JOB_CLUSTER=4711 LAW_HTCONDOR_JOB_PROCESS={i}" in ad["Environment"]
        assert os.path.isfile(plan.spec_file(i))
    assert [ad["PipekitJobNum"] for ad in ads] == [0, 1, 2]
    assert [ad["PipekitBranches"] for ad in ads] == ["0-1", "2-3", "4"]
    assert os.access(f"{d}/job.sh", os.X_OK)
    assert "max_materialize" not in text  # no --parallel-jobs: no throttle


def test_resources_from_the_htcondor_section_of_law_cfg_reach_the_job_ads(mod, work, htcondor):
    (work / "law.cfg").write_text(textwrap.dedent("""\
        [htcondor]
        universe: vanilla
        cpus: 2
        memory: 2 GB
        disk: 500 MB
        gpus: 1
        requirements: (OpSys == "LINUX") && (Arch == "X86_64")
        max_runtime: 2h
        accounting_group: group_physics.alice
        submit_lines:
            priority = 5
            +ProjectName = "higgs"
        """))
    _, ads = expand(htcondor, submission(mod.Chars(n=2), {0: [0], 1: [1]})[1])
    ad = ads[1]
    assert (ad["RequestCpus"], ad["RequestMemory"], ad["RequestDisk"], ad["RequestGPUs"]) == (
        2, 2048, 512000, 1)
    assert str(ad["Requirements"]).startswith('((OpSys == "LINUX") && (Arch == "X86_64"))')
    assert ad["MaxRuntime"] == 7200 and ad["AcctGroup"] == "group_physics.alice"
    assert ad["JobPrio"] == 5 and ad["ProjectName"] == "higgs"


def test_job_config_hook_beats_law_cfg_and_job_workers_request_cpus(mod, work, htcondor):
    (work / "law.cfg").write_text("[htcondor]\nmemory: 1 GB\n")
    _, text = submission(mod.Tuned(job_workers=3), {5: [0, 1, 2]})
    _, ads = expand(htcondor, text)
    assert (ads[0]["RequestMemory"], ads[0]["RequestCpus"]) == (3072, 3)
    assert (ads[0]["JobPrio"], ads[0]["FirstJob"]) == (7, 5)


def test_parallel_jobs_throttle_the_cluster_with_max_materialize(mod, work, htcondor):
    (work / "law.cfg").write_text("[htcondor]\nmax_idle: 3\n")
    _, text = submission(mod.Chars(parallel_jobs=2), {n: [n] for n in range(5)})
    sub, ads = expand(htcondor, text)
    assert (sub.expand("max_materialize"), sub.expand("max_idle")) == ("2", "3")
    assert len(ads) == 5


def test_file_transfer_mode_sends_spec_bootstrap_and_stageout_and_returns_the_status_file(
        mod, work, htcondor):
    (work / "boot.sh").write_text("export BOOT=1\n")
    (work / "stageout.sh").write_text("echo staged\n")
    (work / "law.cfg").write_text("[htcondor]\nshared_filesystem: False\n"
                                  "bootstrap_file: boot.sh\nstageout_file: stageout.sh\n")
    plan, text = submission(mod.Chars(n=3), {0: [0], 1: [1], 2: [2]})
    _, ads = expand(htcondor, text)
    d = plan.directory
    for i, ad in enumerate(ads):
        assert ad["ShouldTransferFiles"] == "YES" and ad["WhenToTransferOutput"] == "ON_EXIT"
        assert ad["TransferInput"].split(",") == [f"{d}/spec_{i}.json", f"{d}/boot.sh",
                                                  f"{d}/stageout.sh"]
        assert ad["TransferOutput"] == f"status_{i}.json"
        assert ad["TransferOutputRemaps"] == f"status_{i}.json = {d}/status_{i}.json"
        assert "TARGET.HasFileTransfer" in str(ad["Requirements"])  # HTCondor adds it
    assert (Path(d) / "boot.sh").read_text() == "export BOOT=1\n"  # copied: later edits don't leak


def test_input_files_with_the_same_name_are_refused_in_file_transfer_mode(mod, work):
    (work / "a").mkdir()
    (work / "a" / "setup.sh").write_text("")
    (work / "setup.sh").write_text("")
    (work / "law.cfg").write_text("[htcondor]\nshared_filesystem: False\nbootstrap_file: "
                                  "setup.sh\nstageout_file: a/setup.sh\n")
    with pytest.raises(UsageError, match="share the name"):
        submission(mod.Chars(n=1), {0: [0]})


def test_dollar_signs_and_spaces_in_paths_reach_the_job_ads_verbatim(mod, home, htcondor,
                                                                     monkeypatch):
    odd = home.parent / "run $(Cluster) of $HOME"  # HTCondor would expand $(Cluster)
    odd.mkdir()
    monkeypatch.chdir(odd)
    plan, text = submission(mod.Chars(n=1), {0: [0]})
    _, ads = expand(htcondor, text)
    assert ads[0]["Cmd"] == f"{plan.directory}/job.sh" and "$(Cluster)" in ads[0]["Cmd"]
    assert ads[0]["Out"] == plan.log_file(0) and ads[0]["Iwd"] == str(odd)


def test_parameter_values_stay_in_the_job_spec_and_never_reach_the_description(mod, work,
                                                                              htcondor):
    nasty = 'a "b" $(ClusterId) ; `x` \n queue 99'
    plan, text = submission(mod.Chars(n=2, text=nasty), {0: [0], 1: [1]})
    assert "$(ClusterId) ;" not in text and "queue 99" not in text
    assert len(expand(htcondor, text)[1]) == 2
    import json

    assert json.loads(Path(plan.spec_file(1)).read_text())["params"]["text"] == nasty


def test_submit_lines_with_newlines_or_their_own_queue_statement_are_refused(mod, work):
    from pipekit.htcondor import HTCondorJobFileFactory

    line = HTCondorJobFileFactory.create_line
    assert line(("priority", 5)) == "priority = 5"
    with pytest.raises(UsageError, match="newline"):
        line(("requirements", "a\nqueue 100"))
    with pytest.raises(UsageError, match="queue statement"):
        line("queue 100")
    (work / "law.cfg").write_text('[htcondor]\nrequirements: Memory > 1\n  || OpSys == "x"\n')
    with pytest.raises(UsageError, match="newline"):
        submission(mod.Chars(n=1), {0: [0]})


def dry_run_section(out: str, label: str) -> str:
    """The text --dry-run printed under ``----- <label>: <path> -----``."""
    found = re.search(rf"^----- {re.escape(label)}: \S+ -----\n(.*?)(?=^----- )", out, re.S | re.M)
    assert found, f"no '{label}' section in:\n{out}"
    return found.group(1)


def test_dry_run_prints_a_description_htcondor_parses_and_the_condor_submit_command(
        mod, work, htcondor):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LAW_", "PIPEKIT_"))}
    env["PYTHONPATH"] = str(Path(mod.__file__).parent)
    pipekit = os.path.join(os.path.dirname(sys.executable), "pipekit")
    proc = subprocess.run(
        [pipekit, "run", "htc_tasks.Chars", "--n", "5", "--tasks-per-job", "2", "--dry-run",
         "--htcondor-pool", "cm.example.org", "--htcondor-scheduler", "schedd1.example.org"],
        cwd=work, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    _, ads = expand(htcondor, dry_run_section(out, "submit description"))
    assert [ad["Arguments"] for ad in ads] == ["0", "1", "2"]
    assert [ad["PipekitBranches"] for ad in ads] == ["0-1", "2-3", "4"]
    # what every job runs is shown too: the wrapper the description names as its executable
    wrapper = dry_run_section(out, "job wrapper (every job runs it with its index)")
    assert f"----- job wrapper (every job runs it with its index): {ads[0]['Cmd']} -----" in out
    assert wrapper.startswith("#!/usr/bin/env bash") and "-m pipekit.job" in wrapper
    assert "batch script" not in out
    assert re.search(r"^condor_submit -pool cm\.example\.org -name schedd1\.example\.org "
                     r"\S+/job\.sub$", out, re.M)
    assert not (work / "data").exists()  # nothing written


def test_quickstart_in_the_docs_writes_a_description_htcondor_parses(tmp_path, home, htcondor):
    docs = (Path(__file__).resolve().parent.parent / "docs" / "htcondor.md").read_text()
    section = docs.split("## Quickstart on a pool", 1)[1].split("\n## ", 1)[0]
    edit = re.search(r"```python\n(.*?)```", section, re.S).group(1).splitlines()
    commands = [line[2:] for line in re.findall(r"^\$ .*", section, re.M)]
    assert commands[:2] == ["pipekit quickstart myanalysis", "cd myanalysis"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LAW_", "PIPEKIT_"))}
    env["PATH"] = f"{os.path.dirname(sys.executable)}:{env.get('PATH', '/usr/bin:/bin')}"

    def run(command: str, cwd: Path) -> str:
        proc = subprocess.run(command.split(), cwd=cwd, env=env, capture_output=True, text=True,
                              timeout=120)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return proc.stdout

    run(commands[0], tmp_path)
    project = tmp_path / "myanalysis"
    tasks = (project / "analysis" / "tasks.py").read_text().splitlines()
    load = next(line for line in edit if line.startswith("law.contrib.load"))
    square = next(line for line in edit if line.startswith("class Square("))
    tasks.insert(tasks.index(next(t for t in tasks if t.startswith("import pipekit"))) + 1, load)
    tasks[tasks.index(next(t for t in tasks if t.startswith("class Square(")))] = square
    (project / "analysis" / "tasks.py").write_text("\n".join(tasks) + "\n")

    out = run(commands[2] + " --dry-run", project)
    _, ads = expand(htcondor, dry_run_section(out, "submit description"))
    assert [ad["PipekitBranches"] for ad in ads] == ["0-1", "2-3", "4-5", "6-7", "8-9"]
    assert {ad["Iwd"] for ad in ads} == {str(project)}
    assert "/data/Square/count10/pipekit_htcondor_Square_" in ads[0]["Cmd"]
