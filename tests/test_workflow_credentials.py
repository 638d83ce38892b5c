"""
The credential check remote workflows make before every submission
(pipekit.workflow.credentials): which credential law.cfg and the task ask for, how long it must
live (the job walltime plus [job] credential_margin), what --dry-run and --print-status say, and
how each backend hands it to the jobs — Slurm (and Grid Engine, LSF) a private copy plus
X509_USER_PROXY in the batch script, HTCondor x509userproxy / use_oauth_services lines, read
back with HTCondor's own parser (no HTCondor daemon exists here). Proxies are real ones of the
test CA (tests/infra/gridca.sh).
"""

from __future__ import annotations

import base64
import json
import os
import stat
import textwrap
import time
import warnings
from pathlib import Path

import grid_helpers
import pytest

from pipekit.errors import CredentialError, UsageError

TASKS = '''
import luigi
import pipekit as law
law.contrib.load("slurm", "htcondor", "sge", "lsf")


class SlurmChars(law.slurm.SlurmWorkflow, law.LocalWorkflow):
    n = luigi.IntParameter(default=2)

    def create_branch_map(self):
        return {i: i for i in range(self.n)}

    def output(self):
        return law.LocalFileTarget(f"data/s_{self.branch}.json")


class CondorChars(law.htcondor.HTCondorWorkflow, law.LocalWorkflow):
    n = luigi.IntParameter(default=2)

    def create_branch_map(self):
        return {i: i for i in range(self.n)}

    def output(self):
        return law.LocalFileTarget(f"data/c_{self.branch}.json")


class SgeChars(law.sge.SGEWorkflow, law.LocalWorkflow):
    n = luigi.IntParameter(default=2)

    def create_branch_map(self):
        return {i: i for i in range(self.n)}

    def output(self):
        return law.LocalFileTarget(f"data/g_{self.branch}.json")


class LsfChars(law.lsf.LSFWorkflow, SgeChars):
    pass


class NeedsToken(SlurmChars):
    def job_credentials(self):
        return "token"


class CondorOwnProxy(CondorChars):
    def htcondor_job_config(self, config, job_num, branches):
        config.custom_content.append(("x509userproxy", "/somewhere/else"))
        return config
'''


@pytest.fixture
def mod(task_module, grid_user, fresh_tasks):
    for key in ("BEARER_TOKEN", "BEARER_TOKEN_FILE", "XDG_RUNTIME_DIR"):
        os.environ.pop(key, None)
    return task_module("cred_tasks", TASKS)


@pytest.fixture
def work(home) -> Path:
    return home.parent / "work"


def law_cfg(work: Path, text: str) -> None:
    """Write law.cfg and make the next read see it."""
    from pipekit.config import Config

    (work / "law.cfg").write_text(textwrap.dedent(text))
    Config._instance = None


def prepare(task, write: bool = True):
    proxy = task.workflow_proxy
    plan = proxy.new_plan("a1b2c3d4e5f6", [0])
    script, config = proxy.prepare_submission(plan, {0: [0]}, {}, write=write)
    return plan, Path(script), config


def test_slurm_jobs_get_a_private_copy_of_the_proxy_and_x509_user_proxy(mod, work):
    plan, script, _ = prepare(mod.SlurmChars())
    copy = os.path.join(plan.directory, "x509up")
    text = script.read_text()
    assert f"export X509_USER_PROXY={copy}" in text
    assert f"export X509_CERT_DIR={grid_helpers.GRIDCA / 'certificates'}" in text
    assert stat.S_IMODE(os.stat(copy).st_mode) == 0o600
    assert Path(copy).read_bytes() == Path(grid_helpers.proxy()).read_bytes()


@pytest.mark.parametrize("cls", ["SgeChars", "LsfChars"])
def test_grid_engine_and_lsf_jobs_get_x509_user_proxy_the_same_way(mod, work, cls):
    plan, script, _ = prepare(getattr(mod, cls)())
    assert f"export X509_USER_PROXY={os.path.join(plan.directory, 'x509up')}" in script.read_text()
    law_cfg(work, "[job]\ncredentials = x509\n[sge]\nwalltime = 13h\n[lsf]\nwalltime = 13h\n")
    with pytest.raises(CredentialError, match=r"walltime 13 h \+ margin 1 h"):
        prepare(getattr(mod, cls)())


def test_htcondor_gets_x509userproxy_and_a_users_own_line_wins(mod, work):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        htcondor = pytest.importorskip("htcondor")
    _, script, _ = prepare(mod.CondorChars())
    ad = list(htcondor.Submit(script.read_text()).jobs(count=0, clusterid=1,
                                                       itemdata=iter([{"pk_index": "0",
                                                                       "pk_job": "0",
                                                                       "pk_branches": "0"}])))[0]
    assert ad["x509userproxy"] == grid_helpers.proxy()
    _, script, _ = prepare(mod.CondorOwnProxy())
    sub = htcondor.Submit(script.read_text())
    assert sub["x509userproxy"] == "/somewhere/else"


def test_htcondor_token_becomes_use_oauth_services(mod, work, monkeypatch):
    htcondor = pytest.importorskip("htcondor")
    payload = base64.urlsafe_b64encode(json.dumps({"exp": time.time() + 7200}).encode()).decode()
    monkeypatch.setenv("BEARER_TOKEN", f"e30.{payload.rstrip('=')}.sig")
    law_cfg(work, "[htcondor]\noauth_services = wlcg\n")
    _, script, _ = prepare(mod.CondorChars())
    assert htcondor.Submit(script.read_text())["use_oauth_services"] == "wlcg"


def test_required_proxy_must_outlive_the_job_walltime_plus_margin(mod, work, grid_user):
    law_cfg(work, """\
        [job]
        credentials = x509
        credential_margin = 2h
        [slurm]
        walltime = 11h
        """)
    with pytest.raises(CredentialError) as e:
        prepare(mod.SlurmChars())
    assert "left, but the jobs need 13 h (walltime 11 h + margin 2 h of [job] credential_margin)" \
        in str(e.value)
    assert not list(work.glob("data/**/x509up"))  # nothing written for a refused submission
    law_cfg(work, "[job]\ncredentials = x509\n[htcondor]\nmax_runtime = 12h\n")
    with pytest.raises(CredentialError, match=r"walltime 12 h \+ margin 1 h"):
        prepare(mod.CondorChars())


def test_auto_mode_does_not_stop_jobs_that_need_no_grid_for_a_stale_proxy(mod, work, grid_user, capsys):
    grid_user("x509up_expired")
    _, script, config = prepare(mod.SlurmChars())
    assert "X509_USER_PROXY" not in script.read_text() and "X509_USER_PROXY" not in config.env
    said = capsys.readouterr().out
    assert "not forwarding to the jobs: the X.509 proxy" in said and "expired" in said
    law_cfg(work, "[slurm]\ncredentials = x509\n")
    with pytest.raises(CredentialError, match="expired"):
        prepare(mod.SlurmChars())
    law_cfg(work, "[job]\ncredentials = none\n")
    _, script, _ = prepare(mod.SlurmChars())
    assert "X509" not in script.read_text()


def test_task_hook_asks_for_a_token_and_its_absence_stops_the_submission(mod, work):
    with pytest.raises(CredentialError, match="no bearer token: none of \\$BEARER_TOKEN"):
        prepare(mod.NeedsToken())


def test_bad_margin_and_mode_are_usage_errors(mod, work):
    law_cfg(work, "[job]\ncredential_margin = soon\n")
    with pytest.raises(UsageError, match=r"\[job\] credential_margin = 'soon' is not a duration"):
        prepare(mod.SlurmChars())
    law_cfg(work, "[slurm]\ncredentials = kerberos\n")
    with pytest.raises(UsageError, match=r"\[slurm\] credentials = 'kerberos'"):
        prepare(mod.SlurmChars())


def test_dry_run_says_which_credential_and_writes_no_copy(mod, work, capsys):
    task = mod.SlurmChars()
    task.workflow_proxy.dry_run()
    out = capsys.readouterr().out
    assert "----- credentials -----\ncredentials (auto: what exists is forwarded): X.509 proxy " \
        f"{grid_helpers.proxy()} (from $X509_USER_PROXY): /DC=org/DC=pipekit-test/CN=Test User" in out
    assert "export X509_USER_PROXY=" in out
    assert not list(work.rglob("x509up"))


def test_dry_run_and_print_status_show_what_would_stop_the_submission(mod, work, grid_user, capsys):
    grid_user("x509up_expired")
    law_cfg(work, "[job]\ncredentials = x509\n")
    task = mod.SlurmChars()
    task.workflow_proxy.dry_run()
    out = capsys.readouterr().out
    assert "credentials: the submission would stop: the X.509 proxy" in out and "expired" in out
    lines = task.workflow_proxy.extra_status_lines(0)
    assert lines[0].startswith("slurm jobs: none submitted yet")
    assert lines[1].startswith("credentials: the submission would stop: the X.509 proxy")
