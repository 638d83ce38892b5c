"""
BundleGitRepository on real git repositories: what goes into the archive (tracked files with
their uncommitted changes, untracked but not ignored files, submodules, forced includes, minus
excludes), and a checksum that changes exactly when that content does.
"""

from __future__ import annotations

import os
import subprocess
import tarfile

import pytest

import pipekit as law
from pipekit.bundle import BundleGitRepository
from pipekit.errors import UsageError


def git(repo, *args):
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.org",
                    "-c", "protocol.file.allow=always", *args], check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path, fresh_tasks):
    r = tmp_path / "ana"
    (r / "ana").mkdir(parents=True)
    (r / "ana" / "__init__.py").write_text("")
    (r / "ana" / "physics.py").write_text("VALUE = 1\n")
    (r / ".gitignore").write_text("*.root\nbuild/\n")
    (r / "setup.sh").write_text("echo setup\n")
    git(r, "init", "-q")
    git(r, "add", "-A")
    git(r, "commit", "-q", "-m", "init")
    return r


def bundle_cls(repo):
    class AnaRepo(BundleGitRepository):
        def get_repo_path(self):
            return str(repo)

    return AnaRepo


def fresh(cls, **params):
    import luigi

    luigi.task_register.Register.clear_instance_cache()
    return cls(**params)


def members(task):
    task.run()
    with tarfile.open(task.output().abspath) as tar:
        return {m.name: m for m in tar.getmembers()}


def test_archive_holds_tracked_and_untracked_files_but_not_ignored_ones(repo, home):
    (repo / "notes.txt").write_text("untracked but not ignored\n")
    (repo / "big.root").write_text("ignored\n")
    (repo / "build").mkdir()
    (repo / "build" / "x.o").write_text("ignored\n")
    task = fresh(bundle_cls(repo))
    assert sorted(members(task)) == [".gitignore", "ana/__init__.py", "ana/physics.py",
                                     "notes.txt", "setup.sh"]


def test_archive_has_the_uncommitted_content_and_is_named_by_checksum(repo, home):
    (repo / "ana" / "physics.py").write_text("VALUE = 2\n")
    task = fresh(bundle_cls(repo))
    task.run()
    path = task.output().abspath
    assert os.path.basename(path) == f"ana.{task.checksum}.tgz"
    assert path.startswith(str(home / ".law" / "bundles"))  # $LAW_HOME/bundles, not the cwd
    with tarfile.open(path) as tar:
        assert tar.extractfile("ana/physics.py").read() == b"VALUE = 2\n"


def test_checksum_is_stable_and_changes_with_every_kind_of_change(repo, home):
    cls = bundle_cls(repo)
    first = fresh(cls).checksum
    assert fresh(cls).checksum == first
    os.utime(repo / "setup.sh", (1, 1))  # touched only: same content, same bundle
    assert fresh(cls).checksum == first
    seen = {first}

    def changed():
        c = fresh(cls).checksum
        assert c not in seen
        seen.add(c)

    (repo / "ana" / "physics.py").write_text("VALUE = 3\n")  # edit a tracked file
    changed()
    (repo / "ana" / "new.py").write_text("x = 1\n")  # a new untracked file
    changed()
    os.remove(repo / "setup.sh")  # delete a tracked file
    changed()
    os.chmod(repo / "ana" / "new.py", 0o755)  # a mode change
    changed()
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "more")  # committing changes nothing in the tree
    assert fresh(cls).checksum in seen


def test_committed_content_gives_the_same_checksum_as_uncommitted(repo, home):
    cls = bundle_cls(repo)
    (repo / "ana" / "physics.py").write_text("VALUE = 4\n")
    dirty = fresh(cls).checksum
    git(repo, "commit", "-q", "-am", "value 4")
    assert fresh(cls).checksum == dirty


def test_include_files_force_ignored_files_in_and_exclude_files_leave_files_out(repo, home):
    (repo / "calib.root").write_text("needed\n")
    (repo / "ana" / "scratch.py").write_text("not wanted\n")
    cls = bundle_cls(repo)
    plain = fresh(cls).checksum
    task = fresh(cls, include_files=("*.root",), exclude_files=("ana/scratch*", "setup.sh"))
    names = sorted(members(task))
    assert names == [".gitignore", "ana/__init__.py", "ana/physics.py", "calib.root"]
    assert task.checksum != plain


def test_submodules_are_bundled_recursively(repo, tmp_path, home):
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "helpers.py").write_text("H = 1\n")
    git(lib, "init", "-q")
    git(lib, "add", "-A")
    git(lib, "commit", "-q", "-m", "lib")
    git(repo, "submodule", "add", "-q", str(lib), "ext/lib")
    git(repo, "commit", "-q", "-m", "submodule")
    cls = bundle_cls(repo)
    before = fresh(cls)
    assert "ext/lib/helpers.py" in members(before)
    (repo / "ext" / "lib" / "helpers.py").write_text("H = 2\n")  # edit inside the submodule
    assert fresh(cls).checksum != before.checksum


def test_bundles_written_into_the_repository_are_left_out(repo, home):
    class InRepo(BundleGitRepository):
        def get_repo_path(self):
            return str(repo)

        def output(self):
            return law.LocalFileTarget(str(repo / "bundles" / self.archive_name()))

    first = fresh(InRepo)
    first.run()
    second = fresh(InRepo)  # the first archive is an untracked file in the repository now
    assert second.checksum == first.checksum
    assert not any(n.startswith("bundles/") for n in members(second))


def test_custom_checksum_is_used_as_given(repo, home):
    task = fresh(bundle_cls(repo), custom_checksum="v42")
    assert task.archive_name() == "ana.v42.tgz"


def test_a_directory_that_is_no_git_repository_gets_one_clear_error(tmp_path, home):
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(UsageError, match=r"cannot bundle the git repository .*plain"):
        _ = fresh(bundle_cls(plain)).checksum


def test_bundle_ref_points_jobs_at_the_local_archive(repo, home):
    task = fresh(bundle_cls(repo))
    task.run()
    ref = task.bundle_ref()
    assert (ref.name, ref.kind, ref.python_path) == ("ana", "git", ["."])
    assert ref.local_archive == task.output().abspath and ref.uri is None
    assert ref.source_dir == str(repo) and ref.key == f"ana.{task.checksum}"


def test_law_git_namespace_has_the_task():
    law.contrib.load("git")
    assert law.git.BundleGitRepository is BundleGitRepository
    assert BundleGitRepository.get_task_namespace() == "law.git"
