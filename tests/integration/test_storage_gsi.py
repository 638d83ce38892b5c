"""
Remote targets on the GSI-only XRootD of ``tests/infra/xrootd_gsi.sh`` (root://localhost:1095,
test CA, VOMS authorization for /pipekit) through gfal2: a valid proxy works; without one, or
with an expired one, the error says so at once (a RemoteAuthError, not "file missing" and no
retry loop); a permission error names whom the server saw.

XrdCl keeps an authenticated connection per process, so each case runs in a process of its own
with its own X509_USER_PROXY, as separate users' jobs would.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import uuid

import grid_helpers
import pytest
from storage_helpers import gfal2_missing

pytestmark = [pytest.mark.storage, pytest.mark.timeout(120)]

DATA = grid_helpers.GRIDCA.parent / "xrootd-gsi" / "data"

SNIPPET = """
import json, sys, time
import pipekit as law
law.contrib.load("wlcg")
from pipekit.errors import RemoteAuthError, RemoteError
fs = law.wlcg.WLCGFileSystem(base="root://localhost:1095//" + sys.argv[1], retries=3,
                             retry_delay=1.0)
target = law.wlcg.WLCGFileTarget(sys.argv[2], fs=fs)
t0 = time.time()
try:
    if sys.argv[3] == "dump":
        target.dump({"hello": "grid"}, formatter="json")
        result = {"ok": target.load(formatter="json"), "exists": target.exists()}
    else:
        result = {"ok": target.exists()}
except RemoteError as e:
    result = {"error": type(e).__name__, "message": str(e)}
result["seconds"] = time.time() - t0
print(json.dumps(result))
"""


@pytest.fixture(scope="module")
def gsi(grid_services, require_service):
    grid_services("gridca", "voms", "xrootd_gsi")
    reason = gfal2_missing()
    require_service("gfal2", reason is None, reason or "")


def run(area: str, name: str, action: str, proxy: str) -> dict:
    env = grid_helpers.grid_env(proxy)
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(SNIPPET), area, name, action],
                          env=env, capture_output=True, text=True, timeout=90)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_valid_proxy_writes_and_reads_through_gsi(gsi):
    name = f"t{uuid.uuid4().hex[:8]}.json"
    result = run("public", name, "dump", "x509up_12h")
    assert result["ok"] == {"hello": "grid"} and result["exists"] is True
    assert json.loads((DATA / "public" / name).read_text()) == {"hello": "grid"}


def test_voms_area_needs_the_vo_and_a_refusal_names_whom_the_server_saw(gsi):
    name = f"t{uuid.uuid4().hex[:8]}.json"
    assert run("pipekit", name, "dump", "x509up_voms")["ok"] == {"hello": "grid"}
    refused = run("pipekit", name, "exists", "x509up_12h")
    assert refused["error"] == "RemoteError"
    assert refused["message"].startswith(f"stat of root://localhost:1095//pipekit/{name} failed:")
    assert ("as /DC=org/DC=pipekit-test/CN=Test User (VO none: no VOMS attributes, proxy "
            f"{grid_helpers.proxy('x509up_12h')})") in refused["message"]


def test_expired_proxy_is_an_authentication_error_at_once_not_a_missing_file(gsi):
    result = run("public", "anything.json", "exists", "x509up_expired")
    assert result["error"] == "RemoteAuthError"
    expired = grid_helpers.proxy("x509up_expired")
    assert result["message"].startswith(
        "stat of root://localhost:1095//public/anything.json: authentication failed: the X.509 "
        f"proxy {expired} (from $X509_USER_PROXY) expired ")
    assert result["message"].endswith("renew it with: voms-proxy-init --rfc --valid 24:00")
    assert result["seconds"] < 1.0  # retries=3 with 1 s apart: it was not retried


def test_missing_proxy_is_an_authentication_error_naming_the_file(gsi):
    result = run("public", "anything.json", "dump", "no-such-proxy")
    assert result["error"] == "RemoteAuthError"
    missing = grid_helpers.proxy("no-such-proxy")
    assert result["message"].endswith(
        f"authentication failed: no X.509 proxy: {missing} does not exist (from "
        "$X509_USER_PROXY); create one with: voms-proxy-init --rfc --valid 24:00")
    assert result["seconds"] < 1.0
