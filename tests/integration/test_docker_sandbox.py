"""
The Docker sandbox against a real dockerd (tests/infra/docker.sh start): tasks run by ``pipekit
run`` in containers of the locally built images ``local/debian-py:bookworm`` (Debian minbase +
python3, no luigi) and ``local/busybox:latest`` (no Python), through the Python SDK and the CLI.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from sandbox_helpers import TRICKY_VALUE, make_analysis, read_json, run_pipekit  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
IMAGE = "local/debian-py:bookworm"
NO_PYTHON_IMAGE = "local/busybox:latest"
SANDBOX = f"docker::{IMAGE}"

pytestmark = [pytest.mark.docker, pytest.mark.timeout(300)]


def _docker(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=60)


def _dockerd_status() -> str:
    if shutil.which("docker") is None:
        return "the docker command is not installed"
    if _docker("info").returncode != 0:
        return "dockerd does not answer"
    missing = [
        i for i in (IMAGE, NO_PYTHON_IMAGE) if _docker("image", "inspect", i).returncode != 0
    ]
    return f"test images missing: {', '.join(missing)}" if missing else ""


@pytest.fixture(scope="module", autouse=True)
def dockerd(require_service):
    reason = _dockerd_status()
    require_service("docker", not reason, f"{reason}; run tests/infra/docker.sh start")


def _leftover_containers() -> list[str]:
    return _docker("ps", "-a", "--filter", "name=pipekit-", "--format", "{{.Names}}").stdout.split()


@pytest.mark.parametrize("engine", ["sdk", "cli"])
def test_seed_example_writes_the_variable_in_a_container(tmp_path, engine):
    work = tmp_path / "example"
    shutil.copytree(ROOT / "examples" / "sandbox", work)
    proc = run_pipekit(
        ["run", "tasks.DockerTask"], work, env={"LAW__docker_sandbox__engine": engine}
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (work / "data" / "DockerTask.txt").read_text() == "foo"
    assert f"sandbox: {SANDBOX}" in proc.stdout


def test_container_sees_staged_inputs_verbatim_values_and_only_allowed_variables(tmp_path):
    work = make_analysis(
        tmp_path,
        law_cfg="""
        [docker_sandbox_env]
        MY_VARIABLE: foo
        FORWARDED_VAR
    """,
    )
    env = {"FORWARDED_VAR": "forwarded", "PIPEKIT_TEST_SECRET": "hush"}
    proc = run_pipekit(
        ["run", "sbtasks.Report", "--sandbox", SANDBOX, "--value", TRICKY_VALUE], work, env=env
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = read_json(work / "data" / "report_x.json")
    assert report["value"] == TRICKY_VALUE
    assert not (work / "pwned").exists()
    assert report["python"] == "/usr/bin/python3"  # the image's Python, not the host's
    assert report["my_variable"] == "foo"
    assert report["env"] == {
        "PRE_SETUP": "pre",
        "POST_SETUP": "post-foo",
        "SETUP_CMD": "setup",
        "PIPEKIT_TEST_SECRET": None,
        "FORWARDED_VAR": "forwarded",
    }
    assert report["net"] == ["lo"]  # no network unless configured
    assert report["uid"] == os.getuid()
    # the input was staged in: read from a copy, not from the host path
    assert report["input"] == "from upstream"
    assert report["input_path"] != str(work / "data" / "upstream.txt")
    assert "/pipekit_sandbox_" in report["input_path"]
    assert not os.path.exists(report["input_path"].split("/in/")[0])  # stage area removed
    assert (work / "data" / "upstream_runs.txt").read_text() == "run\n"


def test_container_runs_as_the_configured_user(tmp_path):
    work = make_analysis(
        tmp_path,
        law_cfg="""
        [docker_sandbox]
        uid: 4321
        gid: 4321
    """,
    )
    proc = run_pipekit(["run", "sbtasks.Report", "--sandbox", SANDBOX], work)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = read_json(work / "data" / "report_x.json")
    assert report["uid"] == 4321
    assert report["input"] == "from upstream"  # the staged copy is readable for that user


def test_task_failing_in_a_container_shows_exit_code_and_last_lines(tmp_path):
    work = make_analysis(tmp_path)
    proc = run_pipekit(["run", "sbtasks.Report", "--sandbox", SANDBOX, "--fail"], work)
    assert proc.returncode == 40
    assert f"failed in sandbox '{SANDBOX}' with exit code 40" in proc.stderr
    assert (
        "ValueError: boom from inside the sandbox"
        in proc.stderr.split("last lines of its output:")[1]
    )
    assert not (work / "data" / "report_x.json").exists()
    assert _leftover_containers() == []


@pytest.mark.parametrize("engine", ["sdk", "cli"])
def test_missing_image_and_image_without_python_are_clear_errors(tmp_path, engine):
    work = make_analysis(tmp_path)
    env = {"LAW__docker_sandbox__engine": engine}
    proc = run_pipekit(
        ["run", "sbtasks.Report", "--sandbox", "docker::local/no-such-image:1"], work, env=env
    )
    assert proc.returncode == 40
    assert (
        "the image 'local/no-such-image:1' is not in the local Docker engine; pull or build "
        "it first"
    ) in proc.stdout + proc.stderr

    proc = run_pipekit(
        ["run", "sbtasks.Report", "--sandbox", f"docker::{NO_PYTHON_IMAGE}"], work, env=env
    )
    assert proc.returncode == 40
    assert f"'python3' was not found in image '{NO_PYTHON_IMAGE}'" in proc.stderr
    assert _leftover_containers() == []
