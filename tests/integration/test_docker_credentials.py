"""
Grid credentials in a real Docker container (tests/infra/docker.sh, image
local/debian-py:bookworm): the submitter's X.509 proxy, the test CA directory and a bearer token
file are mounted read-only at their host paths and the X509_* / BEARER_TOKEN* variables point
at them; ``forward_credentials = false`` keeps them out.
"""

from __future__ import annotations

import json
import os
import sys
import textwrap
from pathlib import Path

import grid_helpers
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from sandbox_helpers import run_pipekit  # noqa: E402
from test_docker_sandbox import SANDBOX, dockerd  # noqa: E402, F401

pytestmark = [pytest.mark.docker, pytest.mark.timeout(300)]

TASKS = '''
import json, os
import luigi
import pipekit as law


class Creds(law.SandboxTask):
    def output(self):
        return law.LocalFileTarget("data/creds.json")

    def run(self):
        from pipekit.grid.credentials import find_proxy, find_token

        proxy = os.environ.get("X509_USER_PROXY")
        try:
            open(proxy, "a").close()
            writable = True
        except (OSError, TypeError):
            writable = False
        token = find_token()
        self.output().dump({
            "proxy": proxy,
            "identity": find_proxy().identity if proxy else None,
            "proxy_writable": writable,
            "cert_dir": os.environ.get("X509_CERT_DIR"),
            "cas": sorted(os.listdir(os.environ["X509_CERT_DIR"])) if os.environ.get("X509_CERT_DIR") else [],
            "token_file": os.environ.get("BEARER_TOKEN_FILE"),
            "token_identity": token.identity if token else None,
        }, formatter="json")
'''


def analysis(tmp_path: Path, law_cfg: str = "") -> Path:
    work = tmp_path / "analysis"
    work.mkdir()
    (work / "credtasks.py").write_text(TASKS)
    (work / "law.cfg").write_text("[luigi_core]\nlocal_scheduler: True\n" + textwrap.dedent(law_cfg))
    return work


@pytest.fixture
def grid_env(grid_services, tmp_path):
    grid_services("gridca")
    token = tmp_path / "token"
    token.write_text("e30.eyJzdWIiOiAiamFuZSJ9.sig\n")  # {"sub": "jane"}
    token.chmod(0o600)
    env = {k: v for k, v in grid_helpers.grid_env().items() if k.startswith(("X509_", "VOMS_"))}
    return {**env, "BEARER_TOKEN_FILE": str(token)}


def test_container_reads_the_proxy_ca_directory_and_token_read_only(tmp_path, grid_env):
    work = analysis(tmp_path)
    proc = run_pipekit(["run", "credtasks.Creds", "--sandbox", SANDBOX], work, env=grid_env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    seen = json.loads((work / "data" / "creds.json").read_text())
    assert seen["proxy"] == grid_helpers.proxy()
    assert seen["identity"] == "/DC=org/DC=pipekit-test/CN=Test User"
    assert seen["proxy_writable"] is False
    assert seen["cert_dir"] == str(grid_helpers.GRIDCA / "certificates")
    assert "pipekit-test-ca.pem" in seen["cas"]
    assert seen["token_file"] == grid_env["BEARER_TOKEN_FILE"] and seen["token_identity"] == "jane"


def test_forward_credentials_false_keeps_them_out(tmp_path, grid_env):
    work = analysis(tmp_path, "[docker_sandbox]\nforward_credentials: false\n")
    proc = run_pipekit(["run", "credtasks.Creds", "--sandbox", SANDBOX], work, env=grid_env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    seen = json.loads((work / "data" / "creds.json").read_text())
    assert seen["proxy"] is None and seen["cas"] == [] and seen["token_file"] is None
    assert os.path.exists(grid_helpers.proxy())
