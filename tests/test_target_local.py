"""
Tests for local targets (pipekit.target.local, pipekit.target.file, pipekit.target.transfer).

Two promises get the strongest tests: relative paths resolve against the working directory at the
moment a target is created, and every write is atomic, also when the writing process is killed.
"""

from __future__ import annotations

import gc
import json
import os
import select
import signal
import stat
import subprocess
import sys
import textwrap
import time

import pytest

from pipekit.errors import ConfigError, TargetExistsError, TargetMissingError, UsageError
from pipekit.target.local import (
    LocalDirectoryTarget,
    LocalFileSystem,
    LocalFileTarget,
    LocalTarget,
)


def mode_of(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def names(path) -> list[str]:
    return sorted(os.listdir(path))


# -- paths ----------------------------------------------------------------------------------------


def test_relative_path_resolves_against_cwd_at_creation(tmp_path, monkeypatch):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    monkeypatch.chdir(tmp_path / "a")
    target = LocalFileTarget("data/x.json")

    monkeypatch.chdir(tmp_path / "b")
    target.dump({"v": 1})

    assert target.path == str(tmp_path / "a" / "data" / "x.json")
    assert json.loads((tmp_path / "a" / "data" / "x.json").read_text()) == {"v": 1}
    assert not (tmp_path / "b" / "data").exists()


def test_relative_directory_and_children_resolve_against_cwd_at_creation(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    d = LocalDirectoryTarget("out")
    monkeypatch.chdir("/")

    assert d.path == str(tmp_path / "out")
    assert d.child("f.txt", "f").path == str(tmp_path / "out" / "f.txt")


def test_paths_expand_home_variables_and_file_scheme(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("STORE", str(tmp_path / "store"))

    assert LocalFileTarget("~/x.txt").path == str(tmp_path / "x.txt")
    assert LocalFileTarget("$STORE/y.txt").path == str(tmp_path / "store" / "y.txt")
    assert LocalFileTarget(f"file://{tmp_path}/z.txt").path == str(tmp_path / "z.txt")
    assert LocalFileTarget(tmp_path / "p.txt").path == str(tmp_path / "p.txt")
    assert LocalFileTarget(f"{tmp_path}/a/../b//c.txt").path == str(tmp_path / "b" / "c.txt")


def test_file_system_base_resolves_relative_paths(tmp_path):
    fs = LocalFileSystem(base=str(tmp_path / "base"))

    assert LocalFileTarget("x/y.txt", fs=fs).path == str(tmp_path / "base" / "x" / "y.txt")
    assert LocalFileTarget("/abs.txt", fs=fs).path == "/abs.txt"


def write_cfg(home, *lines: str) -> None:
    """A law.cfg of *lines* in the working directory of the ``home`` fixture."""
    (home.parent / "work" / "law.cfg").write_text("\n".join(lines) + "\n")


def test_named_file_system_from_law_cfg_resolves_relative_paths_against_its_base(
    home, tmp_path, monkeypatch
):
    # law.LocalFileTarget("x.json", fs="local_fs_results") with [local_fs_results] base: ...
    write_cfg(home, "[local_fs_results]", "base: $RESULTS_ROOT/results")
    monkeypatch.setenv("RESULTS_ROOT", str(tmp_path))
    t = LocalFileTarget("fit/x.json", fs="local_fs_results")
    t.dump({"chi2": 1.5})
    d = LocalDirectoryTarget("fit", fs="local_fs_results")
    assert t.path == str(tmp_path / "results" / "fit" / "x.json")
    assert json.loads((tmp_path / "results" / "fit" / "x.json").read_text()) == {"chi2": 1.5}
    assert d.listdir() == ["x.json"] and t.fs.name == "local_fs_results"
    assert LocalFileSystem("local_fs_results").base == str(tmp_path / "results")
    assert LocalFileTarget("/abs.txt", fs="local_fs_results").path == "/abs.txt"


def test_default_file_system_keeps_the_working_directory_with_law_default_base(home):
    write_cfg(home, "[local_fs]", "base: /")
    assert LocalFileTarget("data/x.json").path == str(home.parent / "work" / "data" / "x.json")
    assert LocalFileTarget("x").fs is LocalFileSystem.default_instance  # law's attribute
    assert LocalFileTarget("data/y.json", fs="local_fs").path == str(
        home.parent / "work" / "data" / "y.json"
    )


def test_default_file_system_with_a_base_is_refused_naming_the_fix(home):
    write_cfg(home, "[local_fs]", "base: /data/analysis")
    fix = r"\[local_fs\] base: /data/analysis.*fs=\"local_fs_data\""
    with pytest.raises(ConfigError, match=fix):
        LocalFileTarget("x.json")


def test_unknown_file_system_section_is_a_config_error_naming_it(home):
    with pytest.raises(ConfigError, match=r"no section \[local_fs_typo\].*base: /path"):
        LocalFileTarget("x.json", fs="local_fs_typo")


def test_section_and_base_together_are_refused():
    with pytest.raises(UsageError, match="either"):
        LocalFileSystem("local_fs_results", base="/tmp")


def test_path_properties(tmp_path):
    t = LocalFileTarget(tmp_path / "run" / "data.tar.gz")

    assert t.abspath == t.path == str(tmp_path / "run" / "data.tar.gz")
    assert t.dirname == str(tmp_path / "run")
    assert t.basename == "data.tar.gz"
    assert t.ext() == "gz"
    assert t.ext(2) == "tar.gz"
    assert t.uri() == "file://" + t.path
    assert isinstance(t.parent, LocalDirectoryTarget)
    assert t.parent.path == str(tmp_path / "run")
    assert LocalDirectoryTarget("/").parent is None


def test_unique_basename_differs_between_directories(tmp_path):
    a = LocalFileTarget(tmp_path / "a" / "out.json")
    b = LocalFileTarget(tmp_path / "b" / "out.json")

    assert a.unique_basename.endswith("_out.json")
    assert a.unique_basename != b.unique_basename
    assert a.unique_basename == LocalFileTarget(tmp_path / "a" / "out.json").unique_basename


def test_sibling_and_child_give_targets_of_the_requested_type(tmp_path):
    f = LocalFileTarget(tmp_path / "d" / "a.json")
    d = LocalDirectoryTarget(tmp_path / "d")

    sib = f.sibling("plot.png", "f")
    sub = d.child("sub", "d")

    assert isinstance(sib, LocalFileTarget) and sib.path == str(tmp_path / "d" / "plot.png")
    assert isinstance(sub, LocalDirectoryTarget) and sub.path == str(tmp_path / "d" / "sub")
    with pytest.raises(ValueError, match="'f' or 'd'"):
        d.child("x", "file")


def test_child_type_is_inferred_from_disk_and_mkdir_creates_it(tmp_path):
    d = LocalDirectoryTarget(tmp_path)
    (tmp_path / "existing").mkdir()

    assert isinstance(d.child("existing"), LocalDirectoryTarget)
    assert isinstance(d.child("new.txt"), LocalFileTarget)
    d.child("made", "d", mkdir=True)
    d.child("deep/er/f.txt", "f", mkdir=True)
    assert (tmp_path / "made").is_dir()
    assert (tmp_path / "deep" / "er").is_dir()
    assert not (tmp_path / "deep" / "er" / "f.txt").exists()


def test_targets_are_equal_by_type_and_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    assert LocalFileTarget("a") == LocalFileTarget(str(tmp_path / "a"))
    assert len({LocalFileTarget("a"), LocalFileTarget(str(tmp_path / "a"))}) == 1
    assert LocalFileTarget("a") != LocalDirectoryTarget("a")


def test_target_without_path_needs_is_tmp():
    with pytest.raises(ValueError, match="is_tmp"):
        LocalFileTarget()


# -- queries and changes --------------------------------------------------------------------------


def test_exists_and_stat(tmp_path):
    t = LocalFileTarget(tmp_path / "f.txt")
    assert not t.exists()
    with pytest.raises(TargetMissingError, match="f.txt"):
        t.stat()

    (tmp_path / "f.txt").write_text("12345")

    assert t.exists()
    assert t.stat().st_size == 5


def test_touch_file_creates_parents_and_keeps_content(tmp_path):
    t = LocalFileTarget(tmp_path / "a" / "b" / "f.txt")

    t.touch()
    assert (tmp_path / "a" / "b" / "f.txt").read_text() == ""

    (tmp_path / "a" / "b" / "f.txt").write_text("keep")
    os.utime(t.path, (1, 1))
    t.touch()
    assert (tmp_path / "a" / "b" / "f.txt").read_text() == "keep"
    assert t.stat().st_mtime > 1


def test_touch_directory_creates_the_directory(tmp_path):
    d = LocalDirectoryTarget(tmp_path / "x" / "y")

    d.touch()

    assert (tmp_path / "x" / "y").is_dir()
    assert d.exists()


def test_touch_with_perm(tmp_path):
    LocalFileTarget(tmp_path / "f").touch(perm=0o600)
    LocalDirectoryTarget(tmp_path / "d").touch(perm=0o700)

    assert mode_of(tmp_path / "f") == 0o600
    assert mode_of(tmp_path / "d") == 0o700


def test_remove_file_and_directory_tree(tmp_path):
    (tmp_path / "d" / "sub").mkdir(parents=True)
    (tmp_path / "d" / "sub" / "f").write_text("x")
    (tmp_path / "f").write_text("x")

    assert LocalFileTarget(tmp_path / "f").remove() is True
    assert LocalDirectoryTarget(tmp_path / "d").remove() is True
    assert names(tmp_path) == []
    assert LocalFileTarget(tmp_path / "f").remove() is False
    with pytest.raises(TargetMissingError):
        LocalFileTarget(tmp_path / "f").remove(silent=False)


def test_chmod(tmp_path):
    t = LocalFileTarget(tmp_path / "f")
    t.touch()

    t.chmod(0o640)

    assert mode_of(t.path) == 0o640
    with pytest.raises(TargetMissingError):
        LocalFileTarget(tmp_path / "missing").chmod(0o600)
    assert LocalFileTarget(tmp_path / "missing").chmod(0o600, silent=True) is False


@pytest.fixture
def tree(tmp_path):
    """ls/{a.txt, b.json, c.txt, sub/{deep.txt, deeper/x.txt}}"""
    root = tmp_path / "ls"
    (root / "sub" / "deeper").mkdir(parents=True)
    for name in ("a.txt", "b.json", "c.txt", "sub/deep.txt", "sub/deeper/x.txt"):
        (root / name).write_text(name)
    return LocalDirectoryTarget(root)


def test_listdir_filters_by_pattern_and_type(tree):
    assert tree.listdir() == ["a.txt", "b.json", "c.txt", "sub"]
    assert tree.listdir(pattern="*.txt") == ["a.txt", "c.txt"]
    assert tree.listdir(type="d") == ["sub"]
    assert tree.listdir(type="f") == ["a.txt", "b.json", "c.txt"]
    with pytest.raises(TargetMissingError):
        LocalDirectoryTarget(tree.path + "_missing").listdir()


def test_glob_with_relative_and_absolute_patterns(tree):
    root = tree.path

    assert tree.glob("*.txt") == [f"{root}/a.txt", f"{root}/c.txt"]
    assert tree.glob("*/*.txt") == [f"{root}/sub/deep.txt"]
    assert tree.glob(f"{root}/*.json") == [f"{root}/b.json"]
    assert tree.glob("*.csv") == []
    assert LocalFileSystem().glob(f"{root}/sub/*/x.txt") == [f"{root}/sub/deeper/x.txt"]


def test_walk_yields_every_level_with_depth_and_respects_max_depth(tree):
    seen = {
        os.path.relpath(root, tree.path): (sorted(dirs), sorted(files), depth)
        for root, dirs, files, depth in tree.walk()
    }

    assert seen == {
        ".": (["sub"], ["a.txt", "b.json", "c.txt"], 0),
        "sub": (["deeper"], ["deep.txt"], 1),
        "sub/deeper": ([], ["x.txt"], 2),
    }
    assert [depth for *_, depth in tree.walk(max_depth=1)] == [0, 1]


# -- copy and move --------------------------------------------------------------------------------


@pytest.fixture
def src_file(tmp_path):
    t = LocalFileTarget(tmp_path / "src" / "data.txt")
    t.dump("payload")
    return t


def test_copy_to_path_creates_parents(src_file, tmp_path):
    dst = src_file.copy_to(str(tmp_path / "new" / "dir" / "copy.txt"))

    assert dst == str(tmp_path / "new" / "dir" / "copy.txt")
    assert (tmp_path / "new" / "dir" / "copy.txt").read_text() == "payload"
    assert src_file.exists()


@pytest.mark.parametrize("existing", [True, False])
def test_copy_to_directory_target_copies_into_it(src_file, tmp_path, existing):
    if existing:
        (tmp_path / "into").mkdir()

    dst = src_file.copy_to(LocalDirectoryTarget(tmp_path / "into"))

    assert dst == str(tmp_path / "into" / "data.txt")
    assert (tmp_path / "into" / "data.txt").read_text() == "payload"


def test_copy_to_existing_directory_path_copies_into_it(src_file, tmp_path):
    (tmp_path / "into").mkdir()

    src_file.copy_to(str(tmp_path / "into"))

    assert (tmp_path / "into" / "data.txt").read_text() == "payload"


def test_copy_directory_to_existing_directory_path_keeps_its_content(tmp_path):
    src = LocalDirectoryTarget(tmp_path / "srcdir")
    src.child("f.txt", "f").dump("new")
    (tmp_path / "dst" / "keep").mkdir(parents=True)
    (tmp_path / "dst" / "keep" / "k.txt").write_text("old")

    src.copy_to(str(tmp_path / "dst"))

    assert names(tmp_path / "dst") == ["keep", "srcdir"]
    assert (tmp_path / "dst" / "keep" / "k.txt").read_text() == "old"
    assert (tmp_path / "dst" / "srcdir" / "f.txt").read_text() == "new"


def test_copy_directory_to_new_path(tmp_path):
    src = LocalDirectoryTarget(tmp_path / "srcdir")
    src.child("a/f.txt", "f").dump("x")

    src.copy_to(LocalDirectoryTarget(tmp_path / "parent"))
    src.copy_to(str(tmp_path / "renamed"))

    assert (tmp_path / "parent" / "srcdir" / "a" / "f.txt").read_text() == "x"
    assert (tmp_path / "renamed" / "a" / "f.txt").read_text() == "x"


def test_copy_to_sets_permissions(src_file, tmp_path):
    src_file.copy_to(LocalFileTarget(tmp_path / "p.txt"), perm=0o640)

    assert mode_of(tmp_path / "p.txt") == 0o640


def test_copy_overwrites_an_existing_file_and_leaves_no_temporary_files(src_file, tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "data.txt").write_text("old")

    src_file.copy_to(LocalDirectoryTarget(tmp_path / "out"))

    assert names(tmp_path / "out") == ["data.txt"]
    assert (tmp_path / "out" / "data.txt").read_text() == "payload"


def test_copy_of_missing_source_raises(tmp_path):
    with pytest.raises(TargetMissingError, match="nothing.txt"):
        LocalFileTarget(tmp_path / "nothing.txt").copy_to(str(tmp_path / "x.txt"))


def test_move_to_directory_target_moves_into_it(src_file, tmp_path):
    dst = src_file.move_to(LocalDirectoryTarget(tmp_path / "moved"))

    assert dst == str(tmp_path / "moved" / "data.txt")
    assert (tmp_path / "moved" / "data.txt").read_text() == "payload"
    assert not src_file.exists()


def test_move_directory_into_directory_target_and_to_new_path(tmp_path):
    src = LocalDirectoryTarget(tmp_path / "new")
    src.child("n.txt", "f").dump("n")
    old = LocalDirectoryTarget(tmp_path / "old")
    old.child("o.txt", "f").dump("o")

    src.move_to(old)  # a directory target receives the source as a child
    assert names(tmp_path / "old") == ["new", "o.txt"]
    LocalDirectoryTarget(tmp_path / "old" / "new").move_to(str(tmp_path / "final"))

    assert names(tmp_path) == ["final", "old"]
    assert names(tmp_path / "final") == ["n.txt"]
    assert names(tmp_path / "old") == ["o.txt"]


def test_copy_from(src_file, tmp_path):
    t = LocalFileTarget(tmp_path / "c.txt")

    t.copy_from(src_file)

    assert t.load() == "payload"


def test_copy_to_local_without_destination_gives_a_lasting_copy(tmp_path, monkeypatch):
    monkeypatch.setenv("LAW__target__tmp_dir", str(tmp_path / "tmp"))
    src = LocalFileTarget(tmp_path / "arch.tar.gz")
    (tmp_path / "arch.tar.gz").write_bytes(b"bytes")

    path = src.copy_to_local()
    gc.collect()

    assert os.path.dirname(path) == str(tmp_path / "tmp")
    assert path.endswith(".tar.gz")
    assert open(path, "rb").read() == b"bytes"


def test_copy_and_move_to_and_from_local_paths(src_file, tmp_path):
    p1 = src_file.copy_to_local(str(tmp_path / "l1.txt"))
    p2 = LocalFileTarget(tmp_path / "l1.txt").move_to_local(str(tmp_path / "l2.txt"))
    t3 = LocalFileTarget(tmp_path / "l3.txt")
    t3.copy_from_local(str(tmp_path / "l2.txt"))
    t4 = LocalFileTarget(tmp_path / "l4.txt")
    t4.move_from_local(str(tmp_path / "l2.txt"))

    assert p1 == str(tmp_path / "l1.txt") and p2 == str(tmp_path / "l2.txt")
    assert not (tmp_path / "l1.txt").exists()
    assert not (tmp_path / "l2.txt").exists()
    assert t3.load() == t4.load() == "payload"


# -- open, localize, load / dump ----------------------------------------------------------------


def test_open_w_writes_a_hidden_sibling_renamed_on_close(tmp_path):
    t = LocalFileTarget(tmp_path / "out" / "f.txt")

    with t.open("w") as f:
        f.write("hello")
        during = names(tmp_path / "out")
        exists_during = t.exists()

    assert not exists_during
    assert len(during) == 1 and during[0].startswith(".f.") and during[0].endswith(".txt")
    assert names(tmp_path / "out") == ["f.txt"]
    assert t.load() == "hello"


def test_open_w_block_failing_keeps_previous_version(tmp_path):
    t = LocalFileTarget(tmp_path / "f.txt")
    t.dump("v1")

    with pytest.raises(RuntimeError):
        with t.open("w") as f:
            f.write("v2 partial")
            raise RuntimeError("boom")

    assert t.load() == "v1"
    assert names(tmp_path) == ["f.txt"]


def test_open_w_dropped_without_close_leaves_nothing(tmp_path):
    t = LocalFileTarget(tmp_path / "f.txt")

    f = t.open("w")
    f.write("never closed")
    del f
    gc.collect()

    assert names(tmp_path) == []


def test_open_modes_append_exclusive_and_read(tmp_path):
    t = LocalFileTarget(tmp_path / "f.txt")
    with t.open("w") as f:
        f.write("a")
    with t.open("a") as f:
        f.write("b")
    with t.open("rb") as f:
        assert f.read() == b"ab"
    with pytest.raises(TargetExistsError):
        t.open("x")
    with pytest.raises(TargetMissingError, match="missing.txt"):
        LocalFileTarget(tmp_path / "missing.txt").open("r")
    with LocalFileTarget(tmp_path / "new.txt").open("x") as f:
        f.write("c")
    assert LocalFileTarget(tmp_path / "new.txt").load() == "c"


def test_localize_w_replaces_the_target_when_the_block_ends(tmp_path):
    t = LocalFileTarget(tmp_path / "sub" / "f.json")

    with t.localize("w") as tmp:
        assert tmp.path != t.path
        assert os.path.dirname(tmp.path) == t.dirname
        tmp.dump({"a": 1})
        assert not t.exists()

    assert t.load() == {"a": 1}
    assert names(tmp_path / "sub") == ["f.json"]


def test_localize_w_failing_block_keeps_previous_version(tmp_path):
    t = LocalFileTarget(tmp_path / "f.json")
    t.dump({"v": 1})

    with pytest.raises(KeyError):
        with t.localize("w") as tmp:
            tmp.dump({"v": 2})
            raise KeyError("x")

    assert t.load() == {"v": 1}
    assert names(tmp_path) == ["f.json"]


def test_localize_a_starts_from_current_content_and_r_reads_it(tmp_path):
    t = LocalFileTarget(tmp_path / "f.txt")
    t.dump("one")

    with t.localize("a") as tmp:
        with open(tmp.path, "a") as f:
            f.write("+two")
        assert t.load() == "one"
    with t.localize("r") as tmp:
        content = tmp.load()

    assert content == "one+two"


def test_localize_directory_w_replaces_it_as_a_whole(tmp_path):
    d = LocalDirectoryTarget(tmp_path / "d")
    d.child("old.txt", "f").dump("old")

    with d.localize("w") as tmp:
        tmp.child("new.txt", "f").dump("new")
        assert d.listdir() == ["old.txt"]

    assert d.listdir() == ["new.txt"]
    assert names(tmp_path) == ["d"]


def test_localize_rejects_unknown_mode(tmp_path):
    with pytest.raises(ValueError, match="'r', 'w' or 'a'"):
        with LocalFileTarget(tmp_path / "f").localize("x"):
            pass


def test_dump_and_load_round_trip_and_create_parents(tmp_path):
    t = LocalFileTarget(tmp_path / "a" / "b" / "data.json")

    t.dump({"x": [1, 2]}, indent=2)

    assert t.load() == {"x": [1, 2]}
    assert "\n" in (tmp_path / "a" / "b" / "data.json").read_text()


def test_dump_with_perm(tmp_path):
    LocalFileTarget(tmp_path / "f.txt").dump("x", perm=0o600)

    assert mode_of(tmp_path / "f.txt") == 0o600


def test_dump_failing_midway_keeps_previous_version_and_no_temporary_file(tmp_path):
    t = LocalFileTarget(tmp_path / "f.json")
    t.dump({"v": 1})

    with pytest.raises(TypeError):
        t.dump({"big": list(range(10000)), "bad": object()})

    assert t.load() == {"v": 1}
    assert names(tmp_path) == ["f.json"]


def test_load_of_missing_file_raises(tmp_path):
    with pytest.raises(TargetMissingError, match="nope.json"):
        LocalFileTarget(tmp_path / "nope.json").load()


# -- temporary targets ----------------------------------------------------------------------------


def test_tmp_target_gets_unique_path_with_extension_and_is_removed_when_dropped(tmp_path):
    t = LocalFileTarget(is_tmp="json", tmp_dir=str(tmp_path))
    other = LocalFileTarget(is_tmp=True, tmp_dir=str(tmp_path))
    t.dump({"a": 1})
    path = t.path

    assert t.is_tmp
    assert path.startswith(str(tmp_path)) and path.endswith(".json")
    assert other.path != path
    del t
    gc.collect()
    assert not os.path.exists(path)


def test_tmp_target_uses_config_tmp_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("LAW__target__tmp_dir", str(tmp_path / "cfgtmp"))

    t = LocalDirectoryTarget(is_tmp=True)

    assert os.path.dirname(t.path) == str(tmp_path / "cfgtmp")


def test_tmp_directory_target_is_removed_with_content(tmp_path):
    d = LocalDirectoryTarget(is_tmp=True, tmp_dir=str(tmp_path))
    d.child("x/y.txt", "f").dump("content")
    path = d.path

    del d
    gc.collect()

    assert not os.path.exists(path)


def test_non_tmp_target_is_never_removed_when_dropped(tmp_path):
    t = LocalTarget(str(tmp_path / "keep.txt"))
    (tmp_path / "keep.txt").write_text("x")

    del t
    gc.collect()

    assert (tmp_path / "keep.txt").exists()


# -- atomic writes under SIGKILL ------------------------------------------------------------------

_WRITER = textwrap.dedent("""
    import sys, time
    from pipekit.target.local import LocalFileTarget

    path, how = sys.argv[1], sys.argv[2]
    target = LocalFileTarget(path)
    chunk = "x" * (1 << 20)

    def mid_write():
        print("mid-write", flush=True)
        time.sleep(60)

    if how == "open":
        with target.open("w") as f:
            for _ in range(8):
                f.write(chunk)
            f.flush()
            mid_write()
    elif how == "dump":
        def default(obj):  # called by json.dump after 8 MB are written
            mid_write()
        target.dump(["y" * 1000] * 8000 + [object()], default=default)
    elif how == "localize":
        with target.localize("w") as tmp:
            with open(tmp.path, "w") as f:
                for _ in range(8):
                    f.write(chunk)
                f.flush()
                mid_write()
""")


def _wait_for_line(proc: subprocess.Popen, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.1)
        if ready:
            return proc.stdout.readline().strip()
        if proc.poll() is not None:
            break
    reason = proc.stderr.read() if proc.poll() is not None else "timeout"
    raise AssertionError(f"writer did not reach mid-write: {reason}")


@pytest.mark.parametrize("previous", [False, True], ids=["new-file", "overwrite"])
@pytest.mark.parametrize("how", ["open", "dump", "localize"])
def test_writer_killed_mid_write_leaves_nothing_at_final_path(tmp_path, how, previous):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    final = out_dir / "result.json"
    if previous:
        final.write_text('{"version": 1}')
    script = tmp_path / "writer.py"
    script.write_text(_WRITER)
    env = dict(os.environ, HOME=str(tmp_path))

    proc = subprocess.Popen(
        [sys.executable, str(script), str(final), how],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert _wait_for_line(proc, timeout=20) == "mid-write"
        partial = [n for n in os.listdir(out_dir) if n != "result.json"]
        assert len(partial) == 1 and os.path.getsize(out_dir / partial[0]) > 1 << 20
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()

    assert proc.returncode == -signal.SIGKILL
    if previous:
        assert json.loads(final.read_text()) == {"version": 1}
    else:
        assert not final.exists()
    # whatever the killed writer left behind is hidden and never has the final name
    assert all(n.startswith(".") for n in os.listdir(out_dir) if n != "result.json")


def _start_writer(tmp_path, final) -> subprocess.Popen:
    script = tmp_path / "writer.py"
    script.write_text(_WRITER)
    proc = subprocess.Popen([sys.executable, str(script), str(final), "open"], cwd=tmp_path,
                            env=dict(os.environ, HOME=str(tmp_path)), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert _wait_for_line(proc, timeout=20) == "mid-write"
    return proc


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    proc.stdout.close()
    proc.stderr.close()


def test_writing_again_removes_what_a_killed_writer_left_but_not_a_running_writers_file(tmp_path):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    final = out_dir / "result.json"
    killed = _start_writer(tmp_path, final)
    _stop(killed)  # SIGKILL mid-write: its 8 MB temporary stays behind
    (left,) = os.listdir(out_dir)
    assert left.startswith(".result.pktmp-") and os.path.getsize(out_dir / left) >= 8 << 20
    running = _start_writer(tmp_path, final)
    try:
        busy = [n for n in os.listdir(out_dir) if n != left]
        LocalFileTarget(str(final)).dump({"version": 2})  # the re-run writes the same output
        assert json.loads(final.read_text()) == {"version": 2}
        assert sorted(os.listdir(out_dir)) == sorted(["result.json", *busy])
    finally:
        _stop(running)
