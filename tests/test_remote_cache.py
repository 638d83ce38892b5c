"""
The local cache of remote files (pipekit/target/remote/cache.py): hits, validation against the
remote size and mtime, LRU eviction to max_size, and several processes sharing one cache.

The remote side is fsspec's local file system (``file://``), a real backend without a server;
tests/integration/test_storage_cache.py does the multi-process case against XRootD.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import time

import pytest

from pipekit.target.remote.base import RemoteFileSystem, RemoteFileTarget
from pipekit.target.remote.cache import RemoteCache
from pipekit.target.remote.fsspec import FSSpecFileInterface

pytest.importorskip("fsspec")


def make_fs(store, cache_root, max_size: float = 0) -> RemoteFileSystem:
    fi = FSSpecFileInterface(f"file://{store}", retries=0)
    cache = RemoteCache(str(cache_root), "unit", max_size=max_size)
    return RemoteFileSystem(fi, name="unit", use_cache=True, cache=cache)


@pytest.fixture
def store(tmp_path):
    d = tmp_path / "store"
    d.mkdir()
    return d


@pytest.fixture
def fs(store, tmp_path):
    return make_fs(store, tmp_path / "cache")


def test_a_second_read_comes_from_the_cache(fs, store):
    (store / "a.json").write_text('{"a": 1}')
    t = RemoteFileTarget("/a.json", fs=fs)
    assert t.load() == {"a": 1}
    assert t.load() == {"a": 1}
    with t.open("r") as f:
        assert f.read() == '{"a": 1}'
    assert fs.cache.stats["downloads"] == 1 and fs.cache.stats["hits"] == 2
    assert fs.op_counts["download"] == 1
    with t.localize("r") as local:
        assert local.path == fs.cache.cache_path("/a.json")


def test_a_changed_remote_file_is_downloaded_again(fs, store):
    path = store / "b.txt"
    path.write_text("old")
    t = RemoteFileTarget("/b.txt", fs=fs)
    assert t.load(formatter="text") == "old"
    path.write_text("newer content")  # other size
    assert t.load(formatter="text") == "newer content"
    path.write_text("same length!!")  # same size, other mtime
    os.utime(path, (time.time(), time.time() + 100))
    assert t.load(formatter="text") == "same length!!"
    assert fs.cache.stats["downloads"] == 3


def test_the_cache_copy_keeps_the_remote_mtime(fs, store):
    (store / "c.txt").write_text("x")
    os.utime(store / "c.txt", (1_600_000_000, 1_600_000_000))
    with RemoteFileTarget("/c.txt", fs=fs).localize("r") as local:
        assert os.stat(local.path).st_mtime == 1_600_000_000


def test_least_recently_used_copies_are_evicted_beyond_max_size(store, tmp_path):
    fs = make_fs(store, tmp_path / "cache", max_size=250)
    for name in "abc":
        (store / name).write_bytes(name.encode() * 100)
    for name in "ab":
        RemoteFileTarget("/" + name, fs=fs).load(formatter="text")
        time.sleep(0.02)  # distinct last-use times
    RemoteFileTarget("/a", fs=fs).load(formatter="text")  # a is now more recent than b
    time.sleep(0.02)
    RemoteFileTarget("/c", fs=fs).load(formatter="text")  # 300 bytes > 250: b goes
    cached = sorted(remote for remote, *_ in fs.cache.entries())
    assert cached == ["/a", "/c"] and fs.cache.size() == 200
    assert fs.cache.stats["evictions"] == 1


def test_a_copy_in_use_is_not_evicted(store, tmp_path):
    fs = make_fs(store, tmp_path / "cache", max_size=150)
    for name in "ab":
        (store / name).write_bytes(b"x" * 100)
    with RemoteFileTarget("/a", fs=fs).localize("r") as held:
        # 200 bytes > 150: a is the least recently used, but held, so b (free again) goes
        RemoteFileTarget("/b", fs=fs).load(formatter="text")
        assert os.path.exists(held.path)
    assert sorted(r for r, *_ in fs.cache.entries()) == ["/a"]


def _localize_in_child(store: str, cache_root: str, barrier, queue) -> None:
    fs = make_fs(store, cache_root)
    barrier.wait()
    with RemoteFileTarget("/big.bin", fs=fs).localize("r") as local:
        with open(local.path, "rb") as f:
            digest = hashlib.sha1(f.read()).hexdigest()
    queue.put((fs.cache.stats["downloads"], digest))


def test_two_processes_share_one_download(store, tmp_path):
    data = os.urandom(8 << 20)
    (store / "big.bin").write_bytes(data)
    ctx = multiprocessing.get_context("fork")
    barrier, queue = ctx.Barrier(2), ctx.Queue()
    procs = [
        ctx.Process(
            target=_localize_in_child, args=(str(store), str(tmp_path / "cache"), barrier, queue)
        )
        for _ in range(2)
    ]
    for p in procs:
        p.start()
    results = [queue.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    assert sum(n for n, _ in results) == 1  # one of them downloaded, the other waited and used it
    assert {d for _, d in results} == {hashlib.sha1(data).hexdigest()}  # both read complete data


def test_laws_cache_config_argument_builds_the_cache(store, tmp_path):
    fi = FSSpecFileInterface(f"file://{store}", retries=0)
    fs = RemoteFileSystem(
        fi,
        name="lawstyle",
        use_cache=True,
        cache_config={"root": str(tmp_path / "c"), "max_size": 1},
    )
    (store / "x.txt").write_text("x")
    assert RemoteFileTarget("/x.txt", fs=fs).load(formatter="text") == "x"
    assert fs.cache.max_size == 1024**2 and fs.cache.stats["downloads"] == 1
    assert fs.cache.base.startswith(str(tmp_path / "c" / "lawstyle_"))
