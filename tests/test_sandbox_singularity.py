"""
The Singularity / Apptainer sandbox. Neither can be installed on the development machine, so the
generated ``exec`` command lines are tested here; the end-to-end test runs only where
``apptainer`` or ``singularity`` is on PATH and is skipped with that reason otherwise (in CI, too).
"""

from __future__ import annotations

import os
import shutil
import subprocess

import luigi
import pytest
from sandbox_helpers import TRICKY_VALUE, make_analysis, read_json, run_pipekit

import pipekit as law
from pipekit.config import Config
from pipekit.errors import SandboxError
from pipekit.sandbox.singularity import ApptainerSandbox, SingularitySandbox
from pipekit.sandbox.staging import StageArea


class InSif(law.SandboxTask):
    sandbox = "singularity::images/ana.sif"
    value = luigi.Parameter(default="")

    def output(self):
        return law.LocalFileTarget("data/in_sif.txt")


class InApptainer(InSif):
    sandbox = "apptainer::docker://python:3.11-slim"


@pytest.fixture
def cfg(home):
    return Config.instance()


def exec_line(task, tmp_path):
    stage = StageArea(task, base_dir=str(tmp_path))
    argv, env = task.sandbox_inst.command_line(stage)
    return argv, env, stage


def test_exec_command_line_binds_cleans_the_environment_and_keeps_values_whole(cfg, tmp_path):
    cfg.update({"singularity_sandbox_env": {"MY_VARIABLE": "foo"}})
    task = InSif(value=TRICKY_VALUE)
    argv, env, stage = exec_line(task, tmp_path)
    image = os.path.join(os.getcwd(), "images", "ana.sif")
    assert argv[:3] == ["singularity", "exec", "--cleanenv"]
    assert "--contain" not in argv
    binds = [argv[i + 1] for i, a in enumerate(argv) if a == "--bind"]
    assert f"{os.path.dirname(law.__file__)}:/pipekit/python/first/pipekit:ro" in binds
    assert f"{stage.root}:{stage.root}:rw" in binds and f"{stage.in_dir}:{stage.in_dir}:ro" in binds
    assert argv[argv.index("--pwd") + 1] == os.getcwd()
    command = argv[argv.index(image) + 1 :]
    assert command[:2] == ["python3", "-c"]
    assert TRICKY_VALUE in command
    # variables reach the container through SINGULARITYENV_*, never on the command line
    assert env["SINGULARITYENV_MY_VARIABLE"] == "foo"
    assert env["SINGULARITYENV_LAW_SANDBOX"] == "singularity::images/ana.sif"
    assert env["SINGULARITYENV_LAW_SANDBOX_TASK_ID"] == task.task_id
    assert "SINGULARITYENV_HOME" not in env  # singularity refuses to take HOME from there
    assert not any("foo" == a for a in argv)
    stage.cleanup()


def test_options_from_the_config_change_the_command_line(cfg, tmp_path):
    cfg.update(
        {
            "apptainer_sandbox": {
                "cleanenv": "false",
                "contain": "true",
                "no_home": "true",
                "args": "--nv --writable-tmpfs",
                "python": "python3.11",
            }
        }
    )
    argv, env, stage = exec_line(InApptainer(), tmp_path)
    assert argv[:2] == ["apptainer", "exec"]
    assert "--cleanenv" not in argv and "--contain" in argv and "--no-home" in argv
    assert argv[argv.index("--nv") + 1] == "--writable-tmpfs"
    at = argv.index("docker://python:3.11-slim")  # a URI stays as it is
    assert argv[at + 1 : at + 3] == ["python3.11", "-c"]
    assert env["APPTAINERENV_LAW_SANDBOX"] == "apptainer::docker://python:3.11-slim"
    stage.cleanup()


def test_missing_engine_and_missing_image_are_clear_errors(cfg):
    cfg.update({"singularity_sandbox": {"executable": "/no/such/singularity"}})
    with pytest.raises(SandboxError, match=r"needs '/no/such/singularity', which is not on PATH"):
        SingularitySandbox("ana.sif", task=InSif()).check_available()

    cfg.update({"singularity_sandbox": {"executable": shutil.which("true")}})
    with pytest.raises(
        SandboxError, match=r"the image .*/ana.sif does not exist; build or pull it"
    ):
        SingularitySandbox("ana.sif", task=InSif()).check_available()


def test_law_names_find_both_types():
    assert law.singularity.SingularitySandbox is SingularitySandbox
    assert law.Sandbox.new("apptainer::x.sif").__class__ is ApptainerSandbox


def _engine_and_image(tmp_path_factory) -> tuple[str, str]:
    exe = shutil.which("apptainer") or shutil.which("singularity")
    if exe is None:
        pytest.skip(
            "neither apptainer nor singularity is on PATH (not installable on this "
            "machine); the generated command lines are tested above"
        )
    image = os.environ.get("SANDBOX_TEST_SINGULARITY_IMAGE")
    if not image:
        # build one from the local Docker test image when there is one
        sif = str(tmp_path_factory.mktemp("sif") / "debian-py.sif")
        proc = subprocess.run(
            [exe, "build", sif, "docker-daemon://local/debian-py:bookworm"],
            capture_output=True,
            text=True,
            timeout=900,
        )
        if proc.returncode != 0:
            pytest.skip(
                "no image: set SANDBOX_TEST_SINGULARITY_IMAGE to an image with python3 "
                ">= 3.9, or start tests/infra/docker.sh to build one"
            )
        image = sif
    return os.path.basename(exe), image


def test_task_runs_in_a_real_image_end_to_end(tmp_path, tmp_path_factory):
    engine, image = _engine_and_image(tmp_path_factory)
    work = make_analysis(tmp_path, law_cfg=f"[{engine}_sandbox_env]\nMY_VARIABLE: foo\n")
    proc = run_pipekit(
        ["run", "sbtasks.Report", "--sandbox", f"{engine}::{image}", "--value", TRICKY_VALUE], work
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = read_json(work / "data" / "report_x.json")
    assert report["value"] == TRICKY_VALUE and report["my_variable"] == "foo"
    assert report["input"] == "from upstream"
