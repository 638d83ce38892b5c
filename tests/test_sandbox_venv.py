"""
The venv sandbox, for real: a virtual environment made with ``python -m venv`` (no pip, no
luigi in it), a task running with its interpreter through ``pipekit run``.
"""

from __future__ import annotations

import glob
import os
import shutil
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
    assert proc.returncode == 40
    assert (
        f"{work / 'no-such-env'} is not a virtual environment (no bin/activate); create it "
        f"with: python3 -m venv {work / 'no-such-env'}"
    ) in proc.stdout + proc.stderr


def other_python(minor: int) -> str:
    """An interpreter of Python 3.<minor> on this machine (PATH or pyenv), or skip."""
    root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    candidates = sorted(glob.glob(f"{root}/versions/3.{minor}.*/bin/python3"))
    on_path = shutil.which(f"python3.{minor}")
    if on_path and "/shims/" not in on_path:  # a pyenv shim fails unless the version is selected
        candidates.append(on_path)
    found = candidates[0] if candidates else None
    if found is None:
        pytest.skip(f"no Python 3.{minor} on this machine (PATH or pyenv)")
    return found


def make_venv(python: str, path: Path) -> Path:
    subprocess.run([python, "-m", "venv", "--without-pip", str(path)], check=True, timeout=120)
    return path


def test_venv_of_a_newer_python_runs_the_task_with_it(tmp_path):
    venv = make_venv(other_python(12), tmp_path / "py312")
    work = make_analysis(tmp_path)
    write(
        work / "version.py",
        """
        import sys

        import pipekit as law


        class Version(law.SandboxTask):
            def output(self):
                return law.LocalFileTarget("data/version.txt")

            def run(self):
                self.output().dump("%d.%d" % sys.version_info[:2], formatter="text")
        """,
    )
    proc = run_pipekit(["run", "version.Version", "--sandbox", f"venv::{venv}"], work)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (work / "data" / "version.txt").read_text() == "3.12"


def test_pythons_pipekit_cannot_run_on_are_named_with_the_fix(tmp_path):
    work = make_analysis(tmp_path)
    old = make_venv(other_python(8), tmp_path / "py38")
    proc = run_pipekit(["run", "sbtasks.Report", "--sandbox", f"venv::{old}"], work)
    assert proc.returncode == 40
    assert (
        f"pipekit sandbox: {old}/bin/python is Python 3.8; pipekit needs Python >= 3.9"
        in proc.stderr
    )

    # luigi 3.8 (forwarded from the host) does not import on 3.9: say so, and what to do
    py39 = make_venv(other_python(9), tmp_path / "py39")
    proc = run_pipekit(["run", "sbtasks.Report", "--sandbox", f"venv::{py39}"], work)
    assert proc.returncode == 40
    assert "with exit code 70; pipekit could not start inside the sandbox" in proc.stderr
    assert "install luigi for Python 3.9 in the sandbox, or use Python 3.11 there" in proc.stderr
