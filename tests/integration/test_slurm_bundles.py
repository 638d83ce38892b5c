"""
Bundles and scratch directories on the real single-node Slurm of ``tests/infra/slurm.sh``: an
analysis whose module exists only in a git repository runs from a bundle of it, in node-local
scratch directories away from the submitting directory; a changed tracked file makes the next
run build a new bundle while an unchanged repository reuses it; two jobs starting together
unpack a bundle once; and bundles on remote storage (XRootD, S3) are fetched by the node.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest
from slurm_helpers import FAST, pipekit_env
from storage_helpers import S3_OPTIONS, XRD_DATA, backend_missing

pytestmark = [pytest.mark.slurm, pytest.mark.timeout(300), pytest.mark.usefixtures("slurm_cluster")]

ANALYSIS = '''
import json, os, sys
import luigi
import pipekit as law

law.contrib.load("git", "slurm", "wlcg")
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class AnaRepo(law.git.BundleGitRepository):
    remote = luigi.Parameter(default="")

    def get_repo_path(self):
        return REPO

    def output(self):
        if self.remote:
            return law.wlcg.WLCGFileTarget(f"/bundles/{self.archive_name()}", fs=self.remote)
        return super().output()


class Analysis(law.slurm.SlurmWorkflow, law.LocalWorkflow):
    out = luigi.Parameter()
    n = luigi.IntParameter(default=2)
    version = luigi.Parameter(default="v1")
    remote = luigi.Parameter(default="")

    def workflow_requires(self):
        return {"repo": AnaRepo.req(self)}

    def create_branch_map(self):
        return list(range(self.n))

    def slurm_job_config(self, config, job_num, branches):
        # the submitter finds the analysis on PYTHONPATH, which sbatch passes on to the jobs:
        # cleared, the node can import it only from the bundle
        config.env["PYTHONPATH"] = ""
        return config

    def output(self):
        return law.LocalFileTarget(os.path.join(self.out, self.version, f"r{self.branch}.json"))

    def run(self):
        from ana import physics  # only in the repository, so on the node only in its bundle

        self.output().dump({"value": physics.value(self.branch), "physics": physics.__file__,
                            "cwd": os.getcwd(), "job_dir": os.environ.get("PIPEKIT_JOB_DIR"),
                            "sys_path": sys.path},
                           formatter="json")
'''


def git(repo, *args):
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.org",
                    *args], check=True, capture_output=True)


@pytest.fixture
def analysis(tmp_path):
    """A git repository holding the analysis, and a separate directory to submit from."""
    repo = tmp_path / "repo"
    (repo / "ana").mkdir(parents=True)
    (repo / "ana" / "__init__.py").write_text("")
    (repo / "ana" / "tasks.py").write_text(ANALYSIS)
    (repo / "ana" / "physics.py").write_text("VALUE = 10\n\n\ndef value(b):\n    return VALUE + b\n")
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "analysis")
    submit = tmp_path / "submit"
    submit.mkdir()
    return repo, submit


def run_analysis(tmp_path, submit, repo, *args, timeout=240) -> subprocess.CompletedProcess:
    env = pipekit_env()
    env.update(PYTHONPATH=str(repo), LAW_HOME=str(tmp_path / "home"))
    cmd = [str(Path(sys.executable).parent / "pipekit"), "run", "ana.tasks.Analysis",
           "--out", str(tmp_path / "out"), *FAST, *args]
    return subprocess.run(cmd, cwd=submit, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=timeout)


def results(tmp_path, version, n=2):
    return [json.loads((tmp_path / "out" / version / f"r{b}.json").read_text()) for b in range(n)]


def job_logs(tmp_path) -> list[str]:
    return [p.read_text() for p in sorted((tmp_path / "out").glob("*/pipekit_slurm_*/*/log_*.txt"))]


def test_a_bundled_analysis_runs_in_scratch_directories_and_bundles_follow_its_changes(
        tmp_path, analysis):
    repo, submit = analysis
    scratch, cache = tmp_path / "node-scratch", tmp_path / "node-cache"
    scratch.mkdir()
    (submit / "law.cfg").write_text(f"[slurm]\nscratch_dir: {scratch}\n\n"
                                    f"[job]\nbundle_cache: {cache}\n")
    bundles = tmp_path / "home" / "bundles"

    proc = run_analysis(tmp_path, submit, repo)
    assert proc.returncode == 0, proc.stdout
    [first] = list(bundles.glob("repo.*.tgz"))
    unpacked = cache / first.name[:-len(".tgz")]
    for b, r in enumerate(results(tmp_path, "v1")):
        assert r["value"] == 10 + b
        assert r["physics"] == f"{unpacked}/ana/physics.py"  # imported from the bundle
        assert not [p for p in r["sys_path"] if p.startswith(str(repo))]  # out of the node's reach
        assert Path(r["cwd"]).parent == scratch and r["job_dir"] == r["cwd"]  # not the submit dir
    assert list(scratch.iterdir()) == []  # every job removed its scratch directory
    logs = "\n".join(job_logs(tmp_path))
    # the two jobs of the array started together: one unpacked, the other used its result
    assert logs.count(f"bundle {first.name[:-4]} unpacked from {first}") == 1, logs
    assert logs.count(f"bundle {first.name[:-4]} ") == 2, logs

    (repo / "ana" / "physics.py").write_text("VALUE = 20\n\n\ndef value(b):\n    return VALUE + b\n")
    proc = run_analysis(tmp_path, submit, repo, "--version", "v2")
    assert proc.returncode == 0, proc.stdout
    [second] = [p for p in bundles.glob("repo.*.tgz") if p != first]  # a new bundle
    assert [r["value"] for r in results(tmp_path, "v2")] == [20, 21]
    assert all(r["physics"].startswith(f"{cache / second.name[:-4]}/") for r in results(tmp_path, "v2"))

    proc = run_analysis(tmp_path, submit, repo, "--version", "v3")  # nothing changed: reused
    assert proc.returncode == 0, proc.stdout
    assert "running AnaRepo" not in proc.stdout
    assert sorted(bundles.glob("repo.*.tgz")) == sorted([first, second])
    assert sorted(p.name for p in cache.iterdir() if p.is_dir()) == sorted(
        [first.name[:-4], second.name[:-4]])


@pytest.mark.parametrize("backend", ["xrootd", "s3"])
def test_bundles_on_remote_storage_are_fetched_by_the_node(tmp_path, analysis, backend,
                                                           require_service):
    reason = backend_missing(backend)
    require_service(backend, reason is None, reason or "")
    repo, submit = analysis
    sub = f"bundles{uuid.uuid4().hex[:8]}"
    if backend == "xrootd":
        fs = f"[wlcg_fs_bundles]\nbase: root://localhost:1094//pipekit-tests/{sub}\n"
    else:
        fs = (f"[wlcg_fs_bundles]\nbase: s3://testbucket/pipekit-tests/{sub}\n"
              f"s3_endpoint_url: {S3_OPTIONS['endpoint_url']}\ns3_key: {S3_OPTIONS['key']}\n"
              f"s3_secret: {S3_OPTIONS['secret']}\n")
    cache = tmp_path / "node-cache"
    (submit / "law.cfg").write_text(f"{fs}\n[job]\nbundle_cache: {cache}\n")
    try:
        proc = run_analysis(tmp_path, submit, repo, "--remote", "wlcg_fs_bundles", "--n", "1")
        assert proc.returncode == 0, proc.stdout
        [r] = results(tmp_path, "v1", n=1)
        assert r["value"] == 10 and r["physics"].startswith(f"{cache}/repo.")
        [log] = job_logs(tmp_path)
        assert "unpacked from " in log and f"/pipekit-tests/{sub}/bundles/repo." in log
        assert not list((tmp_path / "home").glob("bundles/*.tgz"))  # never stored locally
        if backend == "xrootd":
            assert len(list((XRD_DATA / "pipekit-tests" / sub / "bundles").glob("repo.*.tgz"))) == 1
    finally:
        if backend == "xrootd":
            shutil.rmtree(XRD_DATA / "pipekit-tests" / sub, ignore_errors=True)


def test_a_bundled_venv_gives_jobs_its_packages(tmp_path, analysis):
    repo, submit = analysis
    env = tmp_path / "env"
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", "--without-pip", str(env)], check=True)
    site = next(env.glob("lib/python*/site-packages"))
    (site / "extrapkg.py").write_text("OFFSET = 1000\n")
    tasks = repo / "ana" / "tasks.py"
    tasks.write_text(tasks.read_text() + textwrap.dedent(f'''

        class WithVenv(Analysis):
            def workflow_requires(self):
                from pipekit.bundle import BundleSoftware

                return {{"repo": AnaRepo.req(self), "env": BundleSoftware(source_path={str(env)!r})}}

            def run(self):
                import extrapkg

                self.output().dump({{"offset": extrapkg.OFFSET, "file": extrapkg.__file__}},
                                   formatter="json")
    '''))
    cache = tmp_path / "node-cache"
    (submit / "law.cfg").write_text(f"[job]\nbundle_cache: {cache}\n")
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "pipekit"), "run", "ana.tasks.WithVenv", "--out",
         str(tmp_path / "out"), "--n", "1", *FAST], cwd=submit, text=True,
        env={**pipekit_env(), "PYTHONPATH": str(repo), "LAW_HOME": str(tmp_path / "home")},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=240)
    assert proc.returncode == 0, proc.stdout
    [r] = [json.loads(p.read_text()) for p in (tmp_path / "out" / "v1").glob("r0.json")]
    assert r["offset"] == 1000 and r["file"].startswith(f"{cache}/env.")
