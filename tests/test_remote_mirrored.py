"""
Mirrored targets (pipekit/target/mirrored.py): read from a local mount of the remote storage when
it is there, else remotely; write remotely and wait until the mount shows the result.

The remote storage is fsspec's local file system on a directory, and the "mount" is that same
directory seen through a LocalFileSystem: the two views of one storage a real mount gives.
tests/integration/test_storage_mirrored.py does the same with XRootD and its data directory.
"""

from __future__ import annotations

import pytest

from pipekit.target.collection import TargetCollection
from pipekit.target.local import LocalFileSystem
from pipekit.target.mirrored import MirroredDirectoryTarget, MirroredFileTarget
from pipekit.target.remote.base import RemoteFileSystem
from pipekit.target.remote.fsspec import FSSpecFileInterface

pytest.importorskip("fsspec")


@pytest.fixture
def store(tmp_path):
    d = tmp_path / "store"
    d.mkdir()
    return d


@pytest.fixture
def remote(store):
    return RemoteFileSystem(FSSpecFileInterface(f"file://{store}", retries=0), name="remote")


@pytest.fixture
def mount(store):
    return LocalFileSystem(base=str(store), name="mount")


def requests(fs) -> int:
    return sum(fs.op_counts.values())


def test_reads_use_the_mount_without_remote_requests(remote, mount, store):
    (store / "a.json").write_text('{"a": 1}')
    t = MirroredFileTarget("a.json", remote_fs=remote, local_fs=mount)
    assert t.exists() and t.load() == {"a": 1}
    with t.open("r") as f:
        assert f.read() == '{"a": 1}'
    assert t.uri() == f"file://{store}/a.json" and t.path == str(store / "a.json")
    assert requests(remote) == 0


def test_writes_go_to_the_remote_and_show_up_in_the_mount(remote, mount, store):
    t = MirroredFileTarget("out/b.json", remote_fs=remote, local_fs=mount)
    t.dump([1, 2])
    assert remote.op_counts["upload"] >= 1 and remote.op_counts["rename"] == 1  # temp name, moved
    assert (store / "out" / "b.json").read_text() == "[1, 2]"
    t.remove()
    assert not t.exists() and remote.op_counts["unlink"] == 1


def test_without_the_mount_everything_is_remote(remote, store):
    (store / "c.json").write_text("[3]")
    absent = LocalFileSystem(base="/pipekit-no-such-mount/store", name="absent")
    t = MirroredFileTarget("c.json", remote_fs=remote, local_fs=absent)
    assert not t.mirror_available()
    assert t.load() == [3] and t.fs is remote and t.path == "/c.json"
    assert remote.op_counts["download"] == 1


def test_a_collection_of_mirrored_targets_lists_the_mount_once(remote, mount, store):
    d = MirroredDirectoryTarget("outs", remote_fs=remote, local_fs=mount)
    d.touch()
    for i in range(5):
        (store / "outs" / f"{i}.json").write_text("{}")
    targets = [d.child(f"{i}.json", type="f") for i in range(8)]
    assert isinstance(targets[0], MirroredFileTarget)
    before = requests(remote)
    assert TargetCollection(targets).count() == 5
    assert requests(remote) == before  # the mount answered
    assert sorted(d.listdir()) == [f"{i}.json" for i in range(5)]


def test_local_file_system_comes_from_a_config_section(home, remote, store):
    (home.parent / "work" / "law.cfg").write_text(f"[local_fs_mount]\nbase: {store}\n")
    (store / "d.txt").write_text("mounted")
    t = MirroredFileTarget("d.txt", remote_fs=remote, local_fs="local_fs_mount")
    assert t.load(formatter="text") == "mounted" and requests(remote) == 0
