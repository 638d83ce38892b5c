"""
The full remote target API against real servers: XRootD (root://), WebDAV through XRootD's
XrdHttp and through wsgidav (dav://), all via gfal2, and S3 (moto) via fsspec/s3fs.

Where the server's data directory is on this machine, the tests look there too, as anybody else
listing the storage would: no temporary names left, nothing half-written at a final path.
"""

from __future__ import annotations

import os
import re

import pytest
from storage_helpers import BACKENDS, backend_missing, in_forked_children, make_fs

from pipekit.errors import TargetMissingError
from pipekit.target.collection import TargetCollection
from pipekit.target.local import LocalFileTarget
from pipekit.target.remote.base import RemoteDirectoryTarget, RemoteFileTarget

pytestmark = [pytest.mark.storage, pytest.mark.timeout(120)]


@pytest.fixture(params=sorted(BACKENDS))
def fs(request, require_service):
    reason = backend_missing(request.param)
    require_service(request.param, reason is None, reason or "")
    fs = make_fs(request.param)
    yield fs
    RemoteDirectoryTarget("/", fs=fs).remove()


def server_names(fs, path: str = "/") -> list[str]:
    """Names on the server, hidden ones included (its data directory, else a listing)."""
    if fs.data is not None:
        d = fs.data / path.lstrip("/")
        return sorted(os.listdir(d)) if d.exists() else []
    return sorted(fs.listdir(path)) if fs.exists(path) else []


def test_dump_load_and_nothing_left_behind(fs):
    t = RemoteFileTarget("/results/a.json", fs=fs)
    assert not t.exists()
    t.dump({"a": [1, 2]})
    assert t.exists() and t.load() == {"a": [1, 2]}
    assert server_names(fs, "/results") == ["a.json"]
    assert t.stat().st_size == len('{"a": [1, 2]}')
    assert t.uri().startswith(fs.base[0])


def spent(fs, before: dict) -> dict:
    """Requests sent to the server since *before* (a copy of ``fs.op_counts``), per operation."""
    return {k: v - before.get(k, 0) for k, v in fs.op_counts.items() if v != before.get(k, 0)}


def test_load_asks_the_server_once_and_verifies_once(fs):
    # law 0.1.21 sends a stat (exists) before the download: one request more per load
    t = RemoteFileTarget("/once.json", fs=fs)
    t.dump({"n": 1})
    before = dict(fs.op_counts)
    assert t.load() == {"n": 1}
    verify = "checksum" if fs.file_interface.checksum_algorithm else "stat"  # else by size
    assert spent(fs, before) == {"download": 1, verify: 1}


def test_load_of_a_missing_file_names_it_after_one_request(fs):
    t = RemoteFileTarget("/results/never.json", fs=fs)
    before = dict(fs.op_counts)
    with pytest.raises(TargetMissingError, match=f"cannot load {re.escape(t.uri())}: it does not"):
        t.load()
    assert spent(fs, before) == {"download": 1}  # not retried: missing is not a transient error


def test_writes_are_verified_by_checksum_where_the_server_offers_one(fs):
    t = RemoteFileTarget("/v.txt", fs=fs)
    t.dump("verify me", formatter="text")
    offers = fs.file_interface.checksum_algorithm is not None
    assert offers == (fs.name == "xrootd_fs" or fs.name == "xrdhttp_fs")  # not wsgidav, not S3
    if offers:
        assert fs.op_counts["checksum"] >= 1
    assert t.load(formatter="text") == "verify me"


def test_open_write_read_and_append(fs):
    t = RemoteFileTarget("/log.txt", fs=fs)
    with t.open("w") as f:
        f.write("one\n")
    with t.open("a") as f:
        f.write("two\n")
    with t.open("r") as f:
        assert f.read() == "one\ntwo\n"
    with pytest.raises(RuntimeError), t.open("w") as f:
        f.write("never")
        raise RuntimeError("task failed")
    with t.open("r") as f:
        assert f.read() == "one\ntwo\n"  # the failed write did not replace it


def test_directories_listing_glob_and_walk(fs):
    d = RemoteDirectoryTarget("/tree", fs=fs)
    for p in ("a.json", "b.txt", "sub/c.json"):
        d.child(p, type="f").touch()
    assert d.exists() and d.listdir() == ["a.json", "b.txt", "sub"]
    assert d.listdir(type="d") == ["sub"] and d.listdir(pattern="*.json") == ["a.json"]
    assert d.glob("sub/*.json") == ["/tree/sub/c.json"]
    assert [(p, ds, fs_) for p, ds, fs_, _ in d.walk()] == [
        ("/tree", ["sub"], ["a.json", "b.txt"]),
        ("/tree/sub", [], ["c.json"]),
    ]
    assert isinstance(d.child("sub"), RemoteDirectoryTarget)


def test_copy_move_and_remove(fs):
    a = RemoteFileTarget("/a.json", fs=fs)
    a.dump([1])
    b = RemoteFileTarget("/dir/b.json", fs=fs)
    a.copy_to(b)
    assert b.load() == [1] and a.exists()
    c = b.sibling("c.json", type="f")
    b.move_to(c)
    assert not b.exists() and c.load() == [1]
    assert server_names(fs, "/dir") == ["c.json"]
    d = RemoteDirectoryTarget("/dir", fs=fs)
    assert d.copy_to(RemoteDirectoryTarget("/dir2", fs=fs)) == "/dir2/dir"  # into it, as cp -r
    assert RemoteFileTarget("/dir2/dir/c.json", fs=fs).load() == [1]
    assert d.remove() and not d.exists()
    with pytest.raises(TargetMissingError, match="/dir"):
        d.remove(silent=False)


def test_files_and_directories_to_and_from_the_local_disk(fs, tmp_path):
    local = LocalFileTarget(str(tmp_path / "in.json"))
    local.dump({"x": 1})
    r = RemoteFileTarget("/up/in.json", fs=fs)
    r.copy_from_local(local)
    back = r.copy_to_local(str(tmp_path / "back.json"))
    assert LocalFileTarget(back).load() == {"x": 1}
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "one.txt").write_text("1")
    (tree / "sub" / "two.txt").write_text("2")
    rd = RemoteDirectoryTarget("/tree", fs=fs)
    rd.copy_from_local(str(tree))
    assert rd.child("sub/two.txt", "f").load(formatter="text") == "2"
    with rd.localize("r") as tmp:
        assert sorted(os.listdir(tmp.path)) == ["one.txt", "sub"]
    with rd.localize("w") as tmp:  # replaces the directory as a whole
        tmp.child("new.txt", "f").dump("n", formatter="text")
    assert rd.listdir() == ["new.txt"]


def test_collections_cost_one_listing_per_directory(fs):
    d = RemoteDirectoryTarget("/outs", fs=fs)
    targets = [d.child(f"b{i}.json", type="f") for i in range(40)]
    for t in targets[::2]:
        t.dump({})
    before = dict(fs.op_counts)
    assert TargetCollection(targets).count() == 20
    spent = {k: v - before.get(k, 0) for k, v in fs.op_counts.items() if v != before.get(k, 0)}
    assert spent == {"listdir": 1}


def _roundtrip_in_child(fs, i) -> dict:
    t = RemoteFileTarget(f"/fork/{i}.json", fs=fs)
    t.dump({"child": i})
    return t.load()


def test_forked_children_transfer_after_the_parent_did(fs):
    # LocalWorkflow forks its workers, and analyses use multiprocessing: with gfal2's filecopy on
    # root://, a child forked after the parent transferred a file hung forever in XrdCl
    RemoteFileTarget("/fork/parent.json", fs=fs).dump({"parent": 1})
    RemoteFileTarget("/fork/parent.json", fs=fs).load()
    results = in_forked_children(2, lambda i, _: _roundtrip_in_child(fs, i), timeout=60)
    assert sorted(results, key=lambda r: r["child"]) == [{"child": 0}, {"child": 1}]


def _dump_in_new_dir(fs, rounds, i, barrier) -> list[str]:
    errors = []
    for r in range(rounds):
        barrier.wait(timeout=60)  # every process writes into the same missing directory at once
        try:
            RemoteFileTarget(f"/race{r}/deep/{i}.json", fs=fs).dump({"r": r, "i": i})
        except Exception as e:  # noqa: BLE001 - reported to the parent, which asserts on it
            errors.append(f"round {r}: {e}")
    return errors


def test_processes_writing_into_one_missing_directory_all_succeed(fs):
    # two LocalWorkflow workers whose first outputs share a directory that does not exist yet:
    # both uploads fail for the missing parent, one creates it, the other must then simply write
    # (it saw WebDAV's "409 Conflict" and once reported the failure as the task's)
    n, rounds = 4, 12
    results = in_forked_children(n, lambda i, barrier: _dump_in_new_dir(fs, rounds, i, barrier))
    assert [e for errors in results for e in errors] == []
    for r in range(rounds):
        d = RemoteDirectoryTarget(f"/race{r}/deep", fs=fs)
        assert d.listdir() == [f"{i}.json" for i in range(n)]  # and no temporary names left
