"""
BundleMercurialRepository on real Mercurial repositories (the hg command: skipped locally
without it, required in CI): the working directory's files, and a checksum that follows them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile

import pytest

import pipekit as law
from pipekit.bundle import BundleMercurialRepository


def hg(repo, *args):
    subprocess.run(["hg", "--cwd", str(repo), "--config", "ui.username=t <t@example.org>", *args],
                   check=True, capture_output=True, env={**os.environ, "HGPLAIN": "1"})


@pytest.fixture
def repo(tmp_path, fresh_tasks, require_service):
    require_service("mercurial", shutil.which("hg") is not None, "apt-get install mercurial")
    r = tmp_path / "ana"
    (r / "ana").mkdir(parents=True)
    (r / "ana" / "physics.py").write_text("VALUE = 1\n")
    (r / ".hgignore").write_text("syntax: glob\n*.root\n")
    hg(r, "init")
    hg(r, "add", "-q")
    hg(r, "commit", "-q", "-m", "init")
    return r


def fresh(repo, **params):
    import luigi

    class AnaHg(BundleMercurialRepository):
        def get_repo_path(self):
            return str(repo)

    luigi.task_register.Register.clear_instance_cache()
    return AnaHg(**params)


def test_archive_holds_the_working_directory_without_ignored_files(repo, home):
    (repo / "ana" / "physics.py").write_text("VALUE = 2\n")
    (repo / "notes.txt").write_text("unknown but not ignored\n")
    (repo / "big.root").write_text("ignored\n")
    task = fresh(repo)
    task.run()
    with tarfile.open(task.output().abspath) as tar:
        assert sorted(tar.getnames()) == [".hgignore", "ana/physics.py", "notes.txt"]
        assert tar.extractfile("ana/physics.py").read() == b"VALUE = 2\n"


def test_checksum_changes_with_edits_new_and_removed_files_only(repo, home):
    first = fresh(repo).checksum
    assert fresh(repo).checksum == first
    (repo / "ana" / "physics.py").write_text("VALUE = 3\n")
    edited = fresh(repo).checksum
    (repo / "ana" / "more.py").write_text("x = 1\n")
    added = fresh(repo).checksum
    os.remove(repo / "ana" / "more.py")
    os.remove(repo / ".hgignore")
    removed = fresh(repo).checksum
    assert len({first, edited, added, removed}) == 4


def test_include_and_exclude_patterns_apply(repo, home):
    (repo / "calib.root").write_text("needed\n")
    task = fresh(repo, include_files=("calib.root",), exclude_files=(".hgignore",))
    assert task.list_files() == ["ana/physics.py", "calib.root"]


def test_law_mercurial_namespace_has_the_task():
    law.contrib.load("mercurial")
    assert law.mercurial.BundleMercurialRepository is BundleMercurialRepository
