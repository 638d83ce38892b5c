"""
pipekit.grid.tools makes new proxies with the real grid tools against the test CA and the real
VOMS server of tests/infra/voms.sh: voms-proxy-init and arcproxy, with and without VOMS
attributes, and says clearly why a tool failed.
"""

from __future__ import annotations

import os
import stat
import time

import pytest

from pipekit.errors import CredentialError
from pipekit.grid.tools import lifetime_seconds, make_proxy


@pytest.fixture
def grid(grid_user, grid_services):
    grid_services("voms")
    return grid_user


@pytest.mark.parametrize("tool", ["voms-proxy-init", "arcproxy"])
def test_tool_makes_a_voms_proxy_with_the_lifetime_asked_for(grid, tool, tmp_path):
    out = str(tmp_path / "x509up")
    cred = make_proxy(tool, out, vo="pipekit", lifetime="2h")
    assert cred.path == out and stat.S_IMODE(os.stat(out).st_mode) == 0o600
    assert cred.vo == "pipekit" and "/pipekit/prod/Role=NULL/Capability=NULL" in cred.attributes
    assert abs(cred.seconds_left() - 7200) < 120
    assert cred.identity == "/DC=org/DC=pipekit-test/CN=Test User"


def test_plain_proxy_of_law_lifetime_in_days_goes_to_x509_user_proxy(grid, tmp_path, monkeypatch):
    monkeypatch.setenv("X509_USER_PROXY", str(tmp_path / "default"))
    cred = make_proxy("voms-proxy-init", lifetime="1 day")
    assert cred.path == str(tmp_path / "default") and cred.vo is None
    assert abs(cred.proxy_not_after - time.time() - 86400) < 120


def test_unknown_vo_fails_with_the_tools_reason(grid, tmp_path):
    with pytest.raises(CredentialError, match=r"^voms-proxy-init could not make a proxy at .*: "
                       r".*nosuchvo"):
        make_proxy("voms-proxy-init", str(tmp_path / "p"), vo="nosuchvo", lifetime=1)


def test_missing_user_key_fails_without_prompting(grid, tmp_path, monkeypatch):
    monkeypatch.setenv("X509_USER_KEY", str(tmp_path / "nokey.pem"))
    t0 = time.time()
    with pytest.raises(CredentialError, match="arcproxy could not make a proxy"):
        make_proxy("arcproxy", str(tmp_path / "p"), lifetime=1)
    assert time.time() - t0 < 30


def test_lifetimes_as_law_takes_them():
    assert lifetime_seconds(12) == 12 * 3600
    assert lifetime_seconds("8 days") == 8 * 86400
    assert lifetime_seconds("90m") == 5400
    with pytest.raises(CredentialError, match="cannot read the proxy lifetime 'soon'"):
        lifetime_seconds("soon")
