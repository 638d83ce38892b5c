"""
The venv sandbox, for real: a virtual environment made with ``python -m venv`` (no pip, no
luigi in it), a task running with its interpreter through ``pipekit run``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sandbox_helpers import TRICKY_VALUE, make_analysis, read_json, run_pipekit, write

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def venv_dir(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("venvs") / "ana-env"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(path)], check=True, timeout=120
    )
    # a package only this environment has
    site = next((path / "lib").glob("python3*/site-packages"))
    write(site / "only_in_venv.py", "WHERE = 'venv'\n")
    return path


def test_task_runs_with_the_venv_python_and_its_packages(tmp_path, venv_dir):
    work = make_analysis(tmp_path)
    write(
        work / "uses_venv.py",
        """
        import luigi
        import pipekit as law


        class UsesVenv(law.SandboxTask):
            value = luigi.Parameter()

            def output(self):
                return law.LocalFileTarget("data/venv.json")

            def run(self):
                import sys

                import only_in_venv

                self.output().dump({"where": only_in_venv.WHERE, "prefix": sys.prefix,
                                    "value": self.value, "luigi": luigi.__file__})
    """,
    )
    proc = run_pipekit(
        ["run", "uses_venv.UsesVenv", "--sandbox", f"venv::{venv_dir}", "--value", TRICKY_VALUE],
        work,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = read_json(work / "data" / "venv.json")
    assert result["where"] == "venv"
    assert os.path.samefile(result["prefix"], venv_dir)
    assert result["value"] == TRICKY_VALUE
    # the venv has no luigi: pipekit made the host's copy importable, nothing else of the host
    assert result["luigi"].startswith(str(work.parent / "home" / ".law" / "sandbox" / "python"))
    assert "entering sandbox" in proc.stdout and f"sandbox: venv::{venv_dir}" in proc.stdout


def test_host_packages_other_than_luigi_stay_outside(tmp_path, venv_dir):
    work = make_analysis(tmp_path)
    write(
        work / "probe.py",
        """
        import pipekit as law


        class Probe(law.SandboxTask):
            def output(self):
                return law.LocalFileTarget("data/probe.txt")

            def run(self):
                try:
                    import pytest  # installed on the host, not in the venv
                    found = "pytest visible"
                except ImportError:
                    found = "pytest hidden"
                self.output().dump(found, formatter="text")
    """,
    )
    proc = run_pipekit(["run", "probe.Probe", "--sandbox", f"venv::{venv_dir}"], work)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (work / "data" / "probe.txt").read_text() == "pytest hidden"


def test_missing_venv_is_a_clear_error(tmp_path):
    work = make_analysis(tmp_path)
    proc = run_pipekit(["run", "sbtasks.Report", "--sandbox", "venv::no-such-env"], work)
    assert proc.returncode == 1
    assert (
        f"{work / 'no-such-env'} is not a virtual environment (no bin/activate); create it "
        f"with: python3 -m venv {work / 'no-such-env'}"
    ) in proc.stdout + proc.stderr
