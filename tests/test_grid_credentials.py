"""
pipekit.grid.credentials: where proxies and bearer tokens are found, what the messages for a
missing, expired or too short-lived credential say, the auto / required modes of the check
before a submission, and the private copies jobs on a shared file system get. Proxies are real
ones of the test CA (tests/infra/gridca.sh); tokens are JWTs written here (no token issuer runs
on this machine; only their claims are read).
"""

from __future__ import annotations

import base64
import json
import os
import stat
import time

import grid_helpers
import pytest

from pipekit.errors import CredentialError, UsageError
from pipekit.grid import credentials as grid

NEED_1H = grid.LifetimeNeed(3600, "walltime 50 min + margin 10 min ([job] credential_margin)")


def jwt(**claims) -> str:
    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")
    return f"{part({'alg': 'none'})}.{part(claims)}.sig"


@pytest.fixture
def no_token(monkeypatch, tmp_path):
    for key in ("BEARER_TOKEN", "BEARER_TOKEN_FILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "runtime"))
    (tmp_path / "runtime").mkdir()
    if os.path.exists(f"/tmp/bt_u{os.getuid()}"):
        pytest.skip(f"/tmp/bt_u{os.getuid()} exists on this machine")


def test_proxy_comes_from_x509_user_proxy(grid_user):
    grid_user("x509up_12h")
    cred = grid.find_proxy()
    assert cred.path == grid_helpers.proxy("x509up_12h") and cred.source == "$X509_USER_PROXY"
    assert cred.identity == "/DC=org/DC=pipekit-test/CN=Test User"
    assert 6 * 3600 < cred.seconds_left() <= 12 * 3600  # gridca.sh renews it below 6 h


def test_without_x509_user_proxy_the_default_location_is_used(grid_user, monkeypatch):
    grid_user(None)
    path, source = grid.proxy_location()
    assert path == f"/tmp/x509up_u{os.getuid()}" and source.startswith("the default location")
    if not os.path.exists(path):
        with pytest.raises(CredentialError) as e:
            grid.load_proxy()
        assert str(e.value) == (
            f"no X.509 proxy: {path} does not exist (the default location; set X509_USER_PROXY "
            "for another file); create one with: voms-proxy-init --rfc --valid 24:00")


def test_voms_proxy_knows_its_vo_and_attributes(grid_user, grid_services):
    grid_services("voms")
    grid_user("x509up_voms")
    cred = grid.find_proxy()
    assert cred.vo == "pipekit" and "/pipekit/prod/Role=NULL/Capability=NULL" in cred.attributes
    assert "VO pipekit" in cred.describe() and " left" in cred.describe()


def test_missing_proxy_message_names_the_file_and_how_to_create_one(grid_user):
    grid_user("does-not-exist")
    with pytest.raises(CredentialError) as e:
        grid.credentials_for_jobs(("x509",), NEED_1H)
    assert str(e.value) == (f"no X.509 proxy: {grid_helpers.proxy('does-not-exist')} does not "
                            "exist (from $X509_USER_PROXY); create one with: voms-proxy-init "
                            "--rfc --valid 24:00")


def test_expired_proxy_message_says_when_and_what_the_jobs_need(grid_user):
    grid_user("x509up_expired")
    with pytest.raises(CredentialError) as e:
        grid.credentials_for_jobs(("x509",), NEED_1H)
    msg = str(e.value)
    assert msg.startswith(f"the X.509 proxy {grid_helpers.proxy('x509up_expired')} (from "
                          "$X509_USER_PROXY) expired ")
    assert "ago (2020-01-01 01:00 UTC); the jobs need 1 h (walltime 50 min + margin 10 min" in msg
    assert msg.endswith("renew it with: voms-proxy-init --rfc --valid 24:00")


def test_proxy_shorter_than_walltime_plus_margin_is_refused(grid_user, tmp_path, monkeypatch):
    grid_user()
    short = grid_helpers.make_proxy("0:30", str(tmp_path / "x509up_30m"))
    monkeypatch.setenv("X509_USER_PROXY", short)
    need = grid.LifetimeNeed(2 * 3600, "walltime 1 h + margin 1 h ([job] credential_margin)")
    with pytest.raises(CredentialError, match=r"has only (29|30) min \d+ s left, but the jobs need "
                       r"2 h \(walltime 1 h \+ margin 1 h"):
        grid.credentials_for_jobs(("x509",), need)
    creds, notes = grid.credentials_for_jobs(("x509",), grid.LifetimeNeed(600, "margin"))
    assert [c.path for c in creds] == [short] and notes == []


def test_renew_hint_for_a_voms_proxy_keeps_its_vo(grid_user, grid_services):
    grid_services("voms")
    grid_user("x509up_voms")
    need = grid.LifetimeNeed(48 * 3600, "walltime 47 h + margin 1 h")
    with pytest.raises(CredentialError, match=r"renew it with: voms-proxy-init --voms pipekit "
                       r"--rfc --valid 48:00$"):
        grid.credentials_for_jobs(("x509",), need)
    with pytest.raises(CredentialError, match=r"arcproxy --voms pipekit --constraint "
                       r"validityPeriod=48H$"):
        grid.credentials_for_jobs(("x509",), need, tool="arcproxy")


def test_auto_forwards_what_lasts_and_skips_a_stale_proxy_with_a_note(grid_user, no_token):
    grid_user("x509up_12h")
    creds, notes = grid.credentials_for_jobs(("auto",), NEED_1H)
    assert [c.kind for c in creds] == ["x509"] and notes == []
    grid_user("x509up_expired")
    creds, notes = grid.credentials_for_jobs(("auto",), NEED_1H)
    assert creds == []
    assert len(notes) == 1 and "expired" in notes[0] and "set credentials = x509 in [job]" in notes[0]
    grid_user("does-not-exist")
    assert grid.credentials_for_jobs(("auto",), NEED_1H) == ([], [])


def test_credential_modes_of_law_cfg(grid_user):
    assert grid.parse_mode(None) == ("auto",)
    assert grid.parse_mode("none") == ()
    assert grid.parse_mode("x509, token") == ("x509", "token")
    assert grid.parse_mode("", default="x509") == ("x509",)
    with pytest.raises(UsageError, match=r"\[arc\] credentials = 'kerberos': unknown credential "
                       "kind 'kerberos'"):
        grid.parse_mode("kerberos", where="[arc] credentials")


def test_token_discovery_order_and_lifetime(no_token, tmp_path, monkeypatch):
    assert grid.find_token() is None
    default = tmp_path / "runtime" / f"bt_u{os.getuid()}"
    default.write_text(jwt(sub="jane", iss="https://issuer.example", exp=time.time() + 7200,
                           scope="storage.read:/ compute.create") + "\n")
    cred = grid.find_token()
    assert cred.path == str(default) and cred.source == f"$XDG_RUNTIME_DIR/bt_u{os.getuid()}"
    assert cred.identity == "jane" and cred.vo == "https://issuer.example"
    assert 7100 < cred.seconds_left() <= 7200 and "compute.create" in cred.attributes
    named = tmp_path / "token"
    named.write_text(jwt(sub="joe", exp=time.time() - 60))
    monkeypatch.setenv("BEARER_TOKEN_FILE", str(named))
    assert grid.find_token().identity == "joe"
    with pytest.raises(CredentialError, match=r"the bearer token .* \(from \$BEARER_TOKEN_FILE\) "
                       r"expired 1 min ago"):
        grid.credentials_for_jobs(("token",), NEED_1H)
    monkeypatch.setenv("BEARER_TOKEN", "opaque-token-value")
    cred = grid.find_token()
    assert cred.source == "$BEARER_TOKEN" and cred.path is None and cred.seconds_left() is None
    assert "opaque-token-value" not in repr(cred) + cred.describe()


def test_required_token_missing_lists_where_it_looked(no_token):
    with pytest.raises(CredentialError, match=r"no bearer token: none of \$BEARER_TOKEN, "
                       r"\$XDG_RUNTIME_DIR/bt_u\d+, the default location is set or exists"):
        grid.credentials_for_jobs(("token",), NEED_1H)


def test_jobs_get_private_copies_and_the_variables_pointing_at_them(grid_user, tmp_path, monkeypatch):
    grid_user("x509up_12h")
    monkeypatch.setenv("BEARER_TOKEN", jwt(sub="jane", exp=time.time() + 7200))
    creds, _ = grid.credentials_for_jobs(("x509", "token"), NEED_1H)
    env = grid.job_environment(creds, str(tmp_path / "sub"))
    assert env["X509_USER_PROXY"] == str(tmp_path / "sub" / "x509up")
    assert env["BEARER_TOKEN_FILE"] == str(tmp_path / "sub" / "bearer_token")
    assert env["X509_CERT_DIR"] == str(grid_helpers.GRIDCA / "certificates")
    for path in (env["X509_USER_PROXY"], env["BEARER_TOKEN_FILE"]):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with open(grid_helpers.proxy("x509up_12h"), "rb") as f:
        assert open(env["X509_USER_PROXY"], "rb").read() == f.read()
    assert grid.load_proxy(env["X509_USER_PROXY"]).identity.endswith("CN=Test User")
    # --dry-run: the same variables, nothing written
    assert grid.job_environment(creds, str(tmp_path / "dry"), write=False) == {
        **env, "X509_USER_PROXY": str(tmp_path / "dry" / "x509up"),
        "BEARER_TOKEN_FILE": str(tmp_path / "dry" / "bearer_token")}
    assert not (tmp_path / "dry").exists()


def test_lifetimes_read_as_people_write_them():
    assert grid.format_span(0) == "0 s"
    assert grid.format_span(250) == "4 min 10 s"
    assert grid.format_span(3600 * 11 + 59 * 60 + 30) == "11 h 59 min"
    assert grid.format_span(7200) == "2 h" and grid.format_span(600) == "10 min"
    assert grid.format_span(86400 * 3 + 3600 * 4) == "3 days 4 h"
