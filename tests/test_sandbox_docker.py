"""
How the Docker sandbox builds a container: its command line, mounts, variables and the errors
for a missing engine. Runs without a Docker daemon; running containers against a real dockerd is
tested in tests/integration/test_docker_sandbox.py.
"""

from __future__ import annotations

import os

import luigi
import pytest
from sandbox_helpers import TRICKY_VALUE

import pipekit as law
from pipekit.config import Config
from pipekit.errors import SandboxError
from pipekit.sandbox.docker import DockerCLIEngine, DockerSandbox
from pipekit.sandbox.staging import StageArea


class InImage(law.SandboxTask):
    sandbox = "docker::local/debian-py:bookworm"
    value = luigi.Parameter(default="")

    def output(self):
        return law.LocalFileTarget("data/in_image.txt")

    def sandbox_setup_cmds(self):
        return ["ulimit -n 1024"] if self.value == "with-setup" else []


@pytest.fixture
def cfg(home):
    return Config.instance()


def spec_for(task, tmp_path):
    stage = StageArea(task, base_dir=str(tmp_path))
    return task.sandbox_inst.container_spec(stage), stage


def test_command_line_passes_values_as_arguments_and_variables_by_name(cfg, tmp_path, monkeypatch):
    cfg.update({"docker_sandbox_env": {"MY_VARIABLE": "foo", "FORWARDED": None}})
    monkeypatch.setenv("FORWARDED", "from-host")
    monkeypatch.setenv("NOT_FORWARDED", "secret")
    task = InImage(value=TRICKY_VALUE)
    spec, stage = spec_for(task, tmp_path)
    argv = DockerCLIEngine("docker::x").command_line(spec)

    assert argv[:3] == ["docker", "run", "--rm"]
    assert argv[argv.index("--network") + 1] == "none"
    assert argv[argv.index("--user") + 1] == f"{os.getuid()}:{os.getgid()}"
    assert argv[argv.index("--workdir") + 1] == os.getcwd()
    image_at = argv.index("local/debian-py:bookworm")
    command = argv[image_at + 1 :]
    assert command[:2] == ["python3", "-c"]
    assert TRICKY_VALUE in command  # one argument, exactly as given
    # variables: names on the command line, values only in the environment of the docker CLI
    names = [argv[i + 1] for i, a in enumerate(argv[:image_at]) if a == "--env"]
    assert {"MY_VARIABLE", "FORWARDED", "LAW_SANDBOX", "LAW_SANDBOX_TASK_ID", "HOME"} <= set(names)
    assert "NOT_FORWARDED" not in names and "PATH" not in names
    assert spec.env["FORWARDED"] == "from-host" and spec.env["MY_VARIABLE"] == "foo"
    assert not any("secret" in a or "from-host" in a for a in argv)
    assert spec.env["HOME"] == stage.home_dir
    stage.cleanup()


def test_only_pipekit_luigi_the_task_code_and_the_stage_area_are_mounted(cfg, tmp_path):
    import luigi as luigi_mod

    task = InImage()
    spec, stage = spec_for(task, tmp_path)
    by_target = {m.target: m for m in spec.mounts}
    assert by_target["/pipekit/python/first/pipekit"].source == os.path.dirname(law.__file__)
    assert by_target["/pipekit/python/last/luigi"].source == os.path.dirname(luigi_mod.__file__)
    assert all(m.read_only for t, m in by_target.items() if t.startswith("/pipekit/python"))
    here = os.path.dirname(os.path.abspath(__file__))
    assert by_target[here].read_only  # the task's code, at its own path
    assert not by_target[stage.root].read_only and by_target[stage.in_dir].read_only
    site = os.path.dirname(os.path.dirname(luigi_mod.__file__))
    assert site not in {m.source for m in spec.mounts}  # never all of site-packages
    assert set(by_target) == {
        *(t for t in by_target if t.startswith("/pipekit/python/")),
        here,
        stage.root,
        stage.in_dir,
    }
    stage.cleanup()


def test_configured_volumes_are_mounted_and_missing_ones_refused(cfg, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    cfg.update({"docker_sandbox_volumes": {str(data): "/data:ro"}})
    task = InImage()
    spec, stage = spec_for(task, tmp_path)
    mount = next(m for m in spec.mounts if m.target == "/data")
    assert mount.source == str(data) and mount.read_only
    argv = DockerCLIEngine("docker::x").command_line(spec)
    assert f"type=bind,source={data},target=/data,readonly" in argv

    cfg.update({"docker_sandbox_volumes": {str(tmp_path / "missing"): "/missing"}})
    with pytest.raises(SandboxError, match=r"the volume .*missing \(-> /missing\) does not exist"):
        spec_for(InImage(value="2"), tmp_path)
    stage.cleanup()


def test_per_image_section_overrides_the_general_one(cfg, tmp_path):
    cfg.update(
        {
            "docker_sandbox": {"network": "host", "memory": "1g"},
            "docker_sandbox_local/debian-py:bookworm": {"network": "bridge"},
        }
    )
    spec, stage = spec_for(InImage(), tmp_path)
    assert spec.network == "bridge" and spec.memory == "1g"
    argv = DockerCLIEngine("docker::x").command_line(spec)
    assert argv[argv.index("--memory") + 1] == "1g"
    stage.cleanup()


def test_setup_commands_run_in_a_shell_that_execs_the_task(cfg, tmp_path):
    spec, stage = spec_for(InImage(value="with-setup"), tmp_path)
    assert spec.command[:2] == ["/bin/sh", "-c"]
    assert spec.command[2].splitlines() == ["set -e", "ulimit -n 1024", 'exec "$@"']
    assert spec.command[4:6] == ["python3", "-c"]
    stage.cleanup()


def test_missing_docker_command_and_unreachable_daemon_are_clear_errors(cfg, monkeypatch):
    cfg.update({"docker_sandbox": {"engine": "cli", "executable": "/no/such/docker"}})
    sandbox = DockerSandbox("local/debian-py:bookworm", task=InImage())
    with pytest.raises(
        SandboxError, match=r"needs Docker, but the '/no/such/docker' command is not available"
    ):
        sandbox.check_available()

    pytest.importorskip("docker")
    cfg.update({"docker_sandbox": {"engine": "sdk"}})
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    sandbox = DockerSandbox("local/debian-py:bookworm", task=InImage())
    with pytest.raises(
        SandboxError, match=r"cannot reach the Docker daemon at unix:///nonexistent/docker.sock"
    ):
        sandbox.check_available()

    cfg.update({"docker_sandbox": {"engine": "podman"}})
    with pytest.raises(SandboxError, match="engine must be auto, sdk or cli"):
        DockerSandbox("x", task=InImage()).check_available()


def test_law_names_find_the_docker_sandbox():
    assert law.docker.DockerSandbox is DockerSandbox
    assert law.Sandbox.new("docker::img").__class__ is DockerSandbox
