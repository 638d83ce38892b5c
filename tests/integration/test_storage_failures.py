"""
Storage failures against real servers: a server stopped in the middle of an upload, servers that
are not there at all, and fail-over from a dead base URL to a working one.

The stopped server is a second XRootD instance of tests/infra/xrootd.sh (port 1095, its own data
directory), so that stopping it disturbs no other test.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
import uuid
from pathlib import Path

import pytest
from storage_helpers import S3_OPTIONS, backend_missing, infra

from pipekit.errors import TransientRemoteError
from pipekit.target.remote.base import RemoteDirectoryTarget, RemoteFileSystem, RemoteFileTarget

pytestmark = [pytest.mark.storage, pytest.mark.timeout(180)]

FLAKY = {"XRD_BASE": "/tmp/infra/xrd-flaky", "XRD_PORT": "1095", "XRD_HTTP_PORT": "8096"}
FLAKY_DATA = Path(FLAKY["XRD_BASE"]) / "data"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def gfal_fs(bases, retries=2, retry_delay=0.2) -> RemoteFileSystem:
    from pipekit.target.remote.gfal import GFALFileInterface

    fi = GFALFileInterface(
        bases, retries=retries, retry_delay=retry_delay, config_section="wlcg_fs"
    )
    return RemoteFileSystem(fi, name="wlcg_fs")


@pytest.fixture(scope="module")
def flaky_server(require_service):
    reason = backend_missing("xrootd") or infra("xrootd", "start", env=FLAKY)
    require_service("xrootd", reason is None, reason or "")
    yield
    infra("xrootd", "stop", env=FLAKY)
    shutil.rmtree(FLAKY_DATA, ignore_errors=True)  # the next start creates it again


def stop_when(condition, timeout: float = 30) -> threading.Thread:
    """Stop the flaky server from a thread as soon as *condition()* holds."""

    def watch():
        deadline = time.monotonic() + timeout
        while not condition() and time.monotonic() < deadline:
            time.sleep(0.002)
        infra("xrootd", "stop", env=FLAKY)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def staged_files(sub: str) -> int:
    """Files in hidden staging directories of the test area (uploads in progress)."""
    base = FLAKY_DATA / sub
    if not base.exists():
        return 0
    return sum(len(os.listdir(base / d)) for d in os.listdir(base) if ".pktmp-" in d)


def partial_size(sub: str) -> int:
    base = FLAKY_DATA / sub
    tmps = [f for f in os.listdir(base) if ".pktmp-" in f] if base.exists() else []
    return max((os.path.getsize(base / f) for f in tmps), default=0)


def test_server_stopped_during_a_directory_upload(flaky_server, tmp_path):
    src = tmp_path / "many"
    src.mkdir()
    for i in range(400):
        (src / f"f{i:03d}.txt").write_bytes(os.urandom(2048))
    sub = f"t{uuid.uuid4().hex[:8]}"
    fs = gfal_fs(f"root://localhost:1095//{sub}")
    target = RemoteDirectoryTarget("/results", fs=fs)
    watcher = stop_when(lambda: staged_files(sub) >= 20)
    with pytest.raises(TransientRemoteError) as info:
        target.copy_from_local(str(src))
    watcher.join()
    msg = str(info.value)
    assert f"root://localhost:1095//{sub}/" in msg and "after 3 attempts" in msg
    assert not (FLAKY_DATA / sub / "results").exists()  # no partial directory at the final path

    assert infra("xrootd", "start", env=FLAKY) is None
    target.copy_from_local(str(src))  # the same call, now that the server is back
    assert sorted(os.listdir(FLAKY_DATA / sub / "results")) == sorted(os.listdir(src))
    assert (FLAKY_DATA / sub / "results" / "f123.txt").read_bytes() == (
        src / "f123.txt"
    ).read_bytes()


def test_server_stopped_during_a_file_upload(flaky_server, tmp_path):
    assert infra("xrootd", "start", env=FLAKY) is None
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(64 << 20))
    sub = f"t{uuid.uuid4().hex[:8]}"
    fs = gfal_fs(f"root://localhost:1095//{sub}", retries=1)
    target = RemoteFileTarget("/big.bin", fs=fs)
    target.parent.touch()
    watcher = stop_when(lambda: partial_size(sub) > (4 << 20))
    with pytest.raises(TransientRemoteError, match=f"root://localhost:1095//{sub}/"):
        target.copy_from_local(str(big))
    watcher.join()
    assert not (FLAKY_DATA / sub / "big.bin").exists()  # only the hidden temporary name got data

    assert infra("xrootd", "start", env=FLAKY) is None
    target.copy_from_local(str(big))
    assert (FLAKY_DATA / sub / "big.bin").stat().st_size == 64 << 20


@pytest.mark.parametrize("scheme", ["root", "dav", "s3"])
def test_exists_on_an_unreachable_server_raises_instead_of_returning_false(scheme, require_service):
    port = closed_port()
    if scheme == "s3":
        pytest.importorskip("s3fs")
        from pipekit.target.remote.fsspec import FSSpecFileInterface

        fi = FSSpecFileInterface(
            "s3://testbucket/x",
            retries=1,
            retry_delay=0.05,
            storage_options=dict(S3_OPTIONS, endpoint_url=f"http://127.0.0.1:{port}"),
        )
        fs = RemoteFileSystem(fi, name="s3_fs")
    else:
        reason = backend_missing("xrootd")
        require_service("gfal2", reason is None, reason or "")
        base = f"root://localhost:{port}//x" if scheme == "root" else f"dav://localhost:{port}/x"
        fs = gfal_fs(base, retries=1, retry_delay=0.05)
    t = RemoteFileTarget("/output.json", fs=fs)
    t0 = time.monotonic()
    with pytest.raises(TransientRemoteError) as info:
        t.exists()
    assert t.uri() in str(info.value) and "after 2 attempts" in str(info.value)
    assert time.monotonic() - t0 < 30  # the client library does not retry for minutes on its own


def test_a_dead_base_fails_over_to_a_working_one(require_service):
    reason = backend_missing("xrootd")
    require_service("xrootd", reason is None, reason or "")
    sub = f"t{uuid.uuid4().hex[:8]}"
    fs = gfal_fs(
        [
            f"root://localhost:{closed_port()}//pipekit-tests/{sub}",
            f"root://localhost:1094//pipekit-tests/{sub}",
        ],
        retries=1,
        retry_delay=0.05,
    )
    t = RemoteFileTarget("/a.json", fs=fs)
    for i in range(3):  # every call either starts on the working base or fails over to it
        t.dump({"i": i})
        assert t.load() == {"i": i}
    RemoteDirectoryTarget("/", fs=fs).remove()
