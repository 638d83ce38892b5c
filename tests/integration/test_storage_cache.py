"""
The local cache against XRootD: two processes localizing the same remote file through one cache
download it once and both read complete data; a file changed on the server is fetched again.
"""

from __future__ import annotations

import hashlib
import os
import time

import pytest
from storage_helpers import backend_missing, in_forked_children, make_fs

from pipekit.target.remote.base import RemoteDirectoryTarget, RemoteFileTarget
from pipekit.target.remote.cache import RemoteCache

pytestmark = [pytest.mark.storage, pytest.mark.timeout(120)]


@pytest.fixture
def fs(require_service, tmp_path):
    reason = backend_missing("xrootd")
    require_service("xrootd", reason is None, reason or "")
    fs = make_fs("xrootd")
    yield fs
    RemoteDirectoryTarget("/", fs=fs).remove()


def with_cache(fs, root) -> None:
    fs.cache = RemoteCache(str(root), "xrootd")
    fs.use_cache = True


def _localize(fs, cache_root, barrier) -> tuple:
    with_cache(fs, cache_root)  # each process opens the cache by itself, as two jobs would
    barrier.wait()
    with RemoteFileTarget("/input.bin", fs=fs).localize("r") as local:
        with open(local.path, "rb") as f:
            digest = hashlib.sha1(f.read()).hexdigest()
    return fs.cache.stats["downloads"], fs.op_counts["download"], digest


def test_two_processes_download_once_and_both_see_complete_data(fs, tmp_path):
    data = os.urandom(16 << 20)
    (tmp_path / "input.bin").write_bytes(data)
    RemoteFileTarget("/input.bin", fs=fs).copy_from_local(str(tmp_path / "input.bin"))
    results = in_forked_children(2, lambda _, barrier: _localize(fs, tmp_path / "cache", barrier))
    assert sorted(r[0] for r in results) == [0, 1]  # cache downloads per process
    assert sum(r[1] for r in results) == 1  # transfers from the server, all processes together
    assert {r[2] for r in results} == {hashlib.sha1(data).hexdigest()}


def test_a_file_changed_on_the_server_is_fetched_again(fs, tmp_path):
    with_cache(fs, tmp_path / "cache")
    t = RemoteFileTarget("/cfg.json", fs=fs)
    t.dump({"v": 1})
    assert t.load() == {"v": 1} and t.load() == {"v": 1}
    assert fs.cache.stats["downloads"] == 1
    time.sleep(1.1)  # XRootD mtimes have one-second resolution
    t.dump({"v": 22})
    assert t.load() == {"v": 22}
    assert fs.cache.stats["downloads"] == 2
