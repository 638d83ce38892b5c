"""
BundleSoftware: a venv bundled on one path works unpacked on another — its packages import,
its console scripts run with its own interpreter — and a software directory goes on the paths
as it is; the checksum follows file changes without reading content.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import luigi
import pytest

from pipekit.bundle import BundleSoftware
from pipekit.bundle.node import BundleCache, activate, stage_in
from pipekit.errors import UsageError


@pytest.fixture
def venv(tmp_path, fresh_tasks):
    path = tmp_path / "env"
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", "--without-pip", str(path)], check=True)
    site = next(path.glob("lib/python*/site-packages"))
    (site / "softpkg").mkdir()
    (site / "softpkg" / "__init__.py").write_text("GREETING = 'hello from softpkg'\n")
    (site / "softpkg" / "__pycache__").mkdir()
    (site / "softpkg" / "__pycache__" / "junk.pyc").write_bytes(b"x")
    tool = path / "bin" / "softtool"
    tool.write_text(f"#!{path}/bin/python\nimport softpkg, sys\n"
                    "print(softpkg.GREETING, sys.prefix, softpkg.__file__)\n")
    os.chmod(tool, 0o755)
    return path


def bundle(path, **params):
    luigi.task_register.Register.clear_instance_cache()
    return BundleSoftware(source_path=str(path), **params)


def unpack(task, tmp_path, monkeypatch):
    task.run()
    ref = task.bundle_ref()
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setenv("PATH", os.environ["PATH"])
    monkeypatch.delenv("PYTHONPATH", raising=False)
    staged = stage_in([ref], cache=BundleCache(str(tmp_path / "node"), say=lambda m: None))
    activate(staged)
    return ref, staged[0].directory


def test_a_bundled_venv_runs_its_scripts_and_imports_its_packages_elsewhere(
        venv, tmp_path, home, monkeypatch):
    task = bundle(venv)
    assert task.bundle_kind == "venv" and "bin/softtool" in task.list_files()
    assert not any("__pycache__" in f for f in task.list_files())
    ref, d = unpack(task, tmp_path, monkeypatch)
    shutil.rmtree(venv)  # the original is gone: only the unpacked copy can answer
    assert ref.bin_path == ["bin"] and ref.python_path[0].endswith("site-packages")
    out = subprocess.run(["softtool"], capture_output=True, text=True, check=True).stdout.split()
    assert out[:3] == ["hello", "from", "softpkg"]
    assert out[3] == d and out[4].startswith(d)  # its own interpreter, its own packages
    import softpkg

    assert softpkg.__file__.startswith(d) and os.environ["VIRTUAL_ENV"] == d
    sys.modules.pop("softpkg", None)


def test_a_software_directory_goes_on_the_paths_as_it_is(tmp_path, home, monkeypatch):
    sw = tmp_path / "software"
    (sw / "swmod").mkdir(parents=True)
    (sw / "swmod" / "__init__.py").write_text("X = 7\n")
    (sw / "bin").mkdir()
    (sw / "bin" / "swtool").write_text("#!/bin/sh\necho swtool\n")
    os.chmod(sw / "bin" / "swtool", 0o755)
    ref, d = unpack(bundle(sw), tmp_path, monkeypatch)
    assert (ref.kind, ref.python_path, ref.bin_path) == ("directory", ["."], ["bin"])
    assert subprocess.run(["swtool"], capture_output=True, text=True).stdout == "swtool\n"
    import swmod

    assert swmod.__file__.startswith(d)
    sys.modules.pop("swmod", None)


def test_checksum_follows_changes_by_stat_unless_content_is_asked_for(venv, home):
    first = bundle(venv).checksum
    assert bundle(venv).checksum == first
    init = next(venv.glob("lib/python*/site-packages/softpkg/__init__.py"))
    init.write_text("GREETING = 'changed'\n")
    assert bundle(venv).checksum != first

    class ByContent(BundleSoftware):
        checksum_mode = "content"

    luigi.task_register.Register.clear_instance_cache()
    a = ByContent(source_path=str(venv)).checksum
    os.utime(init, (1, 1))  # same content, other mtime: same content checksum
    luigi.task_register.Register.clear_instance_cache()
    assert ByContent(source_path=str(venv)).checksum == a


def test_without_a_source_outside_a_venv_the_error_says_what_to_do(monkeypatch, home):
    monkeypatch.setattr(sys, "prefix", sys.base_prefix)
    with pytest.raises(UsageError, match="no --source-path given and this Python does not run in a venv"):
        bundle("").source_dir()
