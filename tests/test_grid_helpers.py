"""
law's proxy helpers under their law names (``law.wlcg.*vomsproxy*``, ``law.arc.*arcproxy*``,
the ``ensure_*`` decorators) answer what ``voms-proxy-info`` and ``arcproxy -i`` answer for the
same real proxies of the test CA and VOMS server; gLite delegation is refused as retired.
"""

from __future__ import annotations

import subprocess

import grid_helpers
import luigi
import pytest

import pipekit as law
from pipekit.errors import CredentialError, NotSupportedError

law.contrib.load("wlcg", "arc")


def tool(*args: str) -> str:
    return subprocess.run(list(args), capture_output=True, text=True, check=True,
                          env=grid_helpers.grid_env()).stdout.strip()


@pytest.fixture
def voms(grid_user, grid_services):
    grid_services("voms")
    grid_user("x509up_voms")
    return grid_helpers.proxy("x509up_voms")


def test_vomsproxy_helpers_answer_as_voms_proxy_info(voms):
    assert law.wlcg.get_vomsproxy_file() == voms
    assert law.wlcg.get_vomsproxy_identity() == tool("voms-proxy-info", "-file", voms, "-identity")
    assert law.wlcg.get_vomsproxy_vo() == tool("voms-proxy-info", "-file", voms, "-vo") == "pipekit"
    left = int(tool("voms-proxy-info", "-file", voms, "-timeleft"))
    assert abs(law.wlcg.get_vomsproxy_lifetime() - left) <= 2
    assert law.wlcg.check_vomsproxy_validity() is True
    assert law.wlcg.check_vomsproxy_validity(return_rfc=True) == (True, True)


def test_arcproxy_helpers_answer_as_arcproxy(voms):
    assert law.arc.get_arcproxy_file() == voms
    assert law.arc.get_arcproxy_vo() == tool("arcproxy", "-P", voms, "-i", "vomsVO") == "pipekit"
    assert law.arc.get_arcproxy_user() == "Test User"
    left = int(tool("arcproxy", "-P", voms, "-i", "validityLeft"))
    assert abs(law.arc.get_arcproxy_lifetime() - left) <= 2
    assert law.arc.check_arcproxy_validity() is True


def test_expired_and_missing_proxies(grid_user):
    expired = grid_helpers.proxy("x509up_expired")
    assert law.wlcg.check_vomsproxy_validity(proxy_file=expired) is False
    assert law.wlcg.get_vomsproxy_lifetime(proxy_file=expired) == 0
    assert law.arc.check_arcproxy_validity(proxy_file=expired) is False
    missing = grid_helpers.proxy("missing")
    assert law.wlcg.check_vomsproxy_validity(proxy_file=missing) is False
    assert law.wlcg.get_vomsproxy_vo(proxy_file=missing, silent=True) is None
    with pytest.raises(CredentialError, match="does not exist"):
        law.wlcg.get_vomsproxy_identity(proxy_file=missing)


def test_usercert_subject_and_locations(grid_user):
    assert law.wlcg.get_usercert() == str(grid_helpers.GRIDCA / "user" / "usercert.pem")
    assert law.wlcg.get_userkey() == str(grid_helpers.GRIDCA / "user" / "userkey.pem")
    assert law.wlcg.get_usercert_subject() == tool(
        "openssl", "x509", "-in", law.wlcg.get_usercert(), "-noout", "-subject",
        "-nameopt", "compat").split("=", 1)[1]


def test_renew_helpers_make_voms_proxies(grid_user, grid_services, tmp_path):
    grid_services("voms")
    out = law.wlcg.renew_vomsproxy(proxy_file=tmp_path / "v", vo="pipekit", lifetime="3h")
    assert out == str(tmp_path / "v") and law.wlcg.get_vomsproxy_vo(proxy_file=out) == "pipekit"
    out = law.arc.renew_arcproxy(lifetime=2, proxy_file=tmp_path / "a", vo="pipekit")
    assert law.arc.get_arcproxy_vo(proxy_file=out) == "pipekit"
    assert 7000 < law.arc.get_arcproxy_lifetime(proxy_file=out) <= 7200
    assert law.wlcg.renew_vomsproxy(proxy_file=tmp_path / "x", vo="nosuchvo", silent=True) is None


def test_glite_delegation_is_refused_as_retired_and_myproxy_as_not_supported():
    with pytest.raises(NotSupportedError, match="gLite and its CREAM computing elements are "
                       "retired.*--workflow arc"):
        law.wlcg.delegate_vomsproxy_glite("ce.example.org:8443")
    with pytest.raises(NotSupportedError, match="delegate_myproxy is not supported by pipekit: "
                       ".*myproxy-init"):
        law.wlcg.delegate_myproxy(vo="cms")
    assert law.wlcg.get_ce_endpoint("ce.example.org:8443/cream-pbs-cms") == "ce.example.org:8443"


class Guarded(law.Task):
    def output(self):
        return law.LocalFileTarget("/nonexistent/never-written")

    @law.wlcg.ensure_vomsproxy
    def run(self):
        return "ran"

    @law.arc.ensure_arcproxy
    def run_arc(self):
        return "ran"


def test_ensure_decorators_stop_a_method_without_a_valid_proxy(grid_user):
    luigi.task_register.Register.clear_instance_cache()
    task = Guarded()
    assert task.run() == "ran" and task.run_arc() == "ran"
    grid_user("x509up_expired")
    with pytest.raises(CredentialError, match=r"x509up_expired \(from \$X509_USER_PROXY\) "
                       "expired; renew it with: voms-proxy-init --rfc"):
        task.run()
    with pytest.raises(CredentialError, match="renew it with: arcproxy"):
        task.run_arc()
    grid_user("missing")
    with pytest.raises(CredentialError, match="no X.509 proxy: .*missing does not exist"):
        task.run()
