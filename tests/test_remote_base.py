"""
RemoteFileSystem and the remote targets (pipekit/target/remote/base.py): the local target API on
remote storage, atomic and verified transfers, one listing per directory.

The storage here is fsspec's local file system (``file://`` bases): a real fsspec backend on
a temporary directory, so every code path of RemoteFileSystem runs without a server. The same
behaviour against XRootD, WebDAV and S3 is in tests/integration/test_storage_api.py.
"""

from __future__ import annotations

import os

import pytest

from pipekit.errors import TargetExistsError, TargetMissingError, UsageError
from pipekit.target.collection import SiblingFileCollection, TargetCollection
from pipekit.target.local import LocalDirectoryTarget, LocalFileTarget
from pipekit.target.remote.base import (
    RemoteDirectoryTarget,
    RemoteFileSystem,
    RemoteFileTarget,
    adler32_file,
)
from pipekit.target.remote.fsspec import FSSpecFileInterface

pytest.importorskip("fsspec")


@pytest.fixture
def store(tmp_path):
    """The directory behind the file system, as the server would see it."""
    d = tmp_path / "store"
    d.mkdir()
    return d


@pytest.fixture
def fs(store):
    return RemoteFileSystem(FSSpecFileInterface(f"file://{store}", retries=0), name="unit_fs")


def on_server(store, path: str) -> list[str]:
    """Names in a directory of the store, temporary ones included (what anybody listing sees)."""
    return sorted(os.listdir(store / path.lstrip("/")))


def test_dump_and_load_round_trip_through_the_remote(fs, store):
    t = RemoteFileTarget("/results/a.json", fs=fs)
    assert not t.exists()
    t.dump({"n": 3})
    assert t.exists() and t.load() == {"n": 3}
    assert on_server(store, "/results") == ["a.json"]  # no temporary name left behind
    assert t.uri() == f"file://{store}/results/a.json"


def test_a_failed_write_leaves_nothing_at_the_final_path(fs, store):
    t = RemoteFileTarget("/results/b.txt", fs=fs)
    with pytest.raises(RuntimeError):
        with t.open("w") as f:
            f.write("half")
            raise RuntimeError("killed")
    assert not t.exists()
    with pytest.raises(RuntimeError), t.localize("w") as tmp:
        tmp.dump("partial", formatter="text")
        raise RuntimeError("killed")
    assert not t.exists()


def test_a_parent_created_by_another_process_meanwhile_does_not_fail_the_write(fs, store):
    # two workers write into one new directory: both uploads fail for the missing parent, and
    # the other worker has created it by the time this one looks; the write must then succeed
    fi = fs.file_interface
    upload, calls = fi._do_upload, []

    def upload_while_another_process_makes_the_parent(local, uri):
        calls.append(uri)
        try:
            return upload(local, uri)
        finally:
            (store / "new" / "dir").mkdir(parents=True, exist_ok=True)

    fi._do_upload = upload_while_another_process_makes_the_parent
    RemoteFileTarget("/new/dir/a.json", fs=fs).dump({"a": 1})
    assert len(calls) == 2  # failed once for the missing parent, then written
    assert RemoteFileTarget("/new/dir/a.json", fs=fs).load() == {"a": 1}
    assert on_server(store, "/new/dir") == ["a.json"]


def test_mkdir_of_a_directory_made_meanwhile_by_another_process_is_silent(fs, store):
    fi = fs.file_interface
    mkdir = fi._do_mkdir

    def another_process_was_faster(uri, perm, recursive):
        (store / "shared").mkdir()
        return mkdir(uri, perm, recursive)

    fi._do_mkdir = another_process_was_faster
    assert fs.mkdir("/shared", recursive=False) is False  # not made here, and no error
    assert on_server(store, "/") == ["shared"]
    with pytest.raises(TargetExistsError, match="shared: it exists"):
        fs.mkdir("/shared", silent=False)


def test_open_write_then_read_and_append(fs):
    t = RemoteFileTarget("/log.txt", fs=fs)
    with t.open("w") as f:
        f.write("one\n")
    with t.open("a") as f:
        f.write("two\n")
    with t.open("r") as f:
        assert f.read() == "one\ntwo\n"


def test_touch_creates_parents_and_is_idempotent(fs, store):
    t = RemoteFileTarget("/deep/er/flag", fs=fs)
    t.touch()
    t.touch()
    assert (store / "deep/er/flag").read_bytes() == b""


def test_listdir_glob_and_walk(fs):
    d = RemoteDirectoryTarget("/tree", fs=fs)
    for p in ("a.json", "b.txt", "sub/c.json", "sub/deeper/d.json"):
        d.child(p, type="f").touch()
    assert d.listdir() == ["a.json", "b.txt", "sub"]
    assert d.listdir(pattern="*.json") == ["a.json"]
    assert d.listdir(type="d") == ["sub"] and d.listdir(type="f") == ["a.json", "b.txt"]
    assert d.glob("sub/*.json") == ["/tree/sub/c.json"]
    before = fs.op_counts["listdir"]
    walked = [(p, dirs, files) for p, dirs, files, _ in d.walk()]
    assert walked == [
        ("/tree", ["sub"], ["a.json", "b.txt"]),
        ("/tree/sub", ["deeper"], ["c.json"]),
        ("/tree/sub/deeper", [], ["d.json"]),
    ]
    assert fs.op_counts["listdir"] - before == 3  # one listing per directory


def test_child_type_is_inferred_and_parent_is_remote(fs):
    d = RemoteDirectoryTarget("/x", fs=fs)
    d.child("y", type="d").touch()
    assert isinstance(d.child("y"), RemoteDirectoryTarget)
    assert isinstance(d.child("z.json"), RemoteFileTarget)
    assert d.child("z.json").parent == d


def test_copy_move_and_remove_within_the_remote(fs, store):
    a = RemoteFileTarget("/a.json", fs=fs)
    a.dump([1])
    d = RemoteDirectoryTarget("/into", fs=fs)
    d.touch()
    assert a.copy_to(d) == "/into/a.json"  # a directory receives the basename
    b = a.sibling("b.json", type="f")
    a.move_to(b)
    assert not a.exists() and b.load() == [1]
    assert d.child("a.json").remove() is True
    assert d.remove() is True and not d.exists()
    assert RemoteFileTarget("/gone", fs=fs).remove() is False
    with pytest.raises(TargetMissingError, match="/gone"):
        RemoteFileTarget("/gone", fs=fs).remove(silent=False)


def test_copy_to_local_and_back_for_files_and_directories(fs, tmp_path):
    src = RemoteDirectoryTarget("/data", fs=fs)
    src.child("one.txt", "f").dump("1", formatter="text")
    src.child("sub/two.txt", "f").dump("2", formatter="text")
    path = src.copy_to_local(str(tmp_path / "local"))  # into the directory, as cp -r does
    assert path == str(tmp_path / "local" / "data")
    assert sorted(os.listdir(path)) == ["one.txt", "sub"]
    assert open(os.path.join(path, "sub", "two.txt")).read() == "2"
    back = RemoteDirectoryTarget("/copy", fs=fs)
    back.copy_from_local(path)
    assert back.child("sub/two.txt", "f").load(formatter="text") == "2"
    f = LocalFileTarget(str(tmp_path / "f.json"))
    f.dump({"a": 1})
    r = RemoteFileTarget("/f.json", fs=fs)
    r.copy_from_local(f)
    assert r.load() == {"a": 1}
    tmp = r.copy_to_local()
    try:
        assert LocalFileTarget(tmp).load() == {"a": 1}
    finally:
        os.remove(tmp)


def test_uploading_a_directory_replaces_the_old_one_as_a_whole(fs, store, tmp_path):
    old = RemoteDirectoryTarget("/out", fs=fs)
    old.child("stale.txt", "f").touch()
    new = tmp_path / "new"
    new.mkdir()
    (new / "fresh.txt").write_text("x")
    old.copy_from_local(str(new))
    assert on_server(store, "/out") == ["fresh.txt"]
    assert on_server(store, "/") == ["out"]  # the staging directory is gone


def test_localize_read_and_write_of_a_directory(fs):
    d = RemoteDirectoryTarget("/bundle", fs=fs)
    with d.localize("w") as tmp:
        tmp.child("x.json", "f").dump({"x": 1})
    with d.localize("r") as tmp:
        assert isinstance(tmp, LocalDirectoryTarget)
        assert tmp.child("x.json").load() == {"x": 1}


def test_collections_check_existence_with_one_listing_per_directory(fs):
    d = RemoteDirectoryTarget("/outs", fs=fs)
    targets = [d.child(f"b{i}.json", "f") for i in range(50)]
    for t in targets[:30]:
        t.touch()
    before = dict(fs.op_counts)
    assert TargetCollection(targets).count() == 30
    assert not SiblingFileCollection(targets).exists()
    assert fs.op_counts["listdir"] - before.get("listdir", 0) == 2
    assert fs.op_counts["stat"] == before.get("stat", 0)
    assert fs.existing_names("/missing-dir") is None


def test_full_uris_below_the_base_are_accepted_as_paths(fs, store):
    t = RemoteFileTarget(f"file://{store}/a/b.json", fs=fs)
    assert t.path == "/a/b.json"
    with pytest.raises(UsageError, match="not below any base"):
        RemoteFileTarget("s3://other/a.json", fs=fs)


def test_remote_targets_need_a_remote_file_system():
    with pytest.raises(UsageError, match="needs a remote file system"):
        RemoteFileTarget("/a.json")


def test_adler32_matches_the_xrootd_format(tmp_path):
    p = tmp_path / "a.txt"
    p.write_text("hello world\n")
    assert adler32_file(str(p)) == "1e720467"  # what `xrdadler32` and the server report
    p.write_bytes(b"")
    assert adler32_file(str(p)) == "00000001"
