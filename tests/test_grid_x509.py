"""
pipekit.grid.x509 reads real proxies of the test CA (tests/infra/gridca.sh, voms.sh) and gives
the answers the grid tools give for them: voms-proxy-info (identity, time left, VO, FQANs,
proxy type) and openssl (subject, issuer, end date).
"""

from __future__ import annotations

import calendar
import subprocess
import time

import grid_helpers
import pytest

from pipekit.grid.x509 import X509FormatError, read_proxy_file


def tool(*args: str) -> str:
    return subprocess.run(list(args), capture_output=True, text=True, check=True,
                          env=grid_helpers.grid_env()).stdout.strip()


@pytest.fixture(scope="module")
def proxies(grid_services):
    grid_services("gridca", "voms")
    return grid_helpers.PROXIES


@pytest.mark.parametrize("name", ["x509up_12h", "x509up_1h", "x509up_voms"])
def test_identity_lifetime_and_type_match_voms_proxy_info(proxies, name):
    path = str(proxies / name)
    p = read_proxy_file(path)
    assert p.identity == tool("voms-proxy-info", "-file", path, "-identity")
    assert p.proxy.subject == tool("voms-proxy-info", "-file", path, "-subject")
    assert p.proxy.issuer == tool("voms-proxy-info", "-file", path, "-issuer")
    left = int(tool("voms-proxy-info", "-file", path, "-timeleft"))
    assert abs((p.not_after - time.time()) - left) <= 2
    assert tool("voms-proxy-info", "-file", path, "-type").startswith("RFC")
    assert p.proxy.proxy_type == "rfc3820" and p.has_key


def test_voms_attributes_match_voms_proxy_info(proxies):
    path = str(proxies / "x509up_voms")
    ac = read_proxy_file(path).voms[0]
    assert ac.vo == tool("voms-proxy-info", "-file", path, "-vo") == "pipekit"
    assert ac.fqans == tool("voms-proxy-info", "-file", path, "-fqan").splitlines()
    assert ac.fqans[:2] == ["/pipekit/Role=NULL/Capability=NULL",
                            "/pipekit/prod/Role=NULL/Capability=NULL"]
    assert ac.issuer == "/DC=org/DC=pipekit-test/CN=localhost"
    assert ac.uri == "localhost:15000"
    left = int(tool("voms-proxy-info", "-file", path, "-actimeleft"))
    assert abs((ac.not_after - time.time()) - left) <= 2


def test_expired_proxy_end_date_matches_openssl(proxies):
    path = str(proxies / "x509up_expired")
    p = read_proxy_file(path)
    end = tool("openssl", "x509", "-in", path, "-noout", "-enddate").split("=", 1)[1]
    assert p.not_after == calendar.timegm(time.strptime(end, "%b %d %H:%M:%S %Y GMT"))
    assert p.not_after < time.time() and p.voms == []


def test_plain_certificate_is_not_a_proxy_and_has_no_key(proxies):
    p = read_proxy_file(str(grid_helpers.GRIDCA / "user" / "usercert.pem"))
    assert p.chain[0].proxy_type is None and not p.has_key
    assert p.identity == "/DC=org/DC=pipekit-test/CN=Test User"


def test_files_without_certificates_are_refused(tmp_path):
    junk = tmp_path / "junk"
    junk.write_text("not a certificate\n")
    with pytest.raises(X509FormatError, match="no certificate"):
        read_proxy_file(str(junk))
    broken = tmp_path / "broken"
    broken.write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    with pytest.raises(X509FormatError):
        read_proxy_file(str(broken))


def test_reading_a_proxy_is_a_small_fraction_of_a_voms_proxy_info_call(proxies):
    path = str(proxies / "x509up_voms")

    def best(fn, n: int) -> float:  # best of n: robust against a loaded machine
        times = []
        for _ in range(n):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return min(times)

    ours = best(lambda: read_proxy_file(path), 20)
    tools = best(lambda: tool("voms-proxy-info", "-file", path, "-vo"), 3)
    assert ours < tools / 10, (ours, tools)
