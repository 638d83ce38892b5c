"""
Storage failures against real servers: a server stopped in the middle of an upload, a server
frozen (SIGSTOP: connections accepted, nothing answered, the way a hung or overloaded server
behaves), servers that are not there at all, fail-over from a dead base URL to a working one, and
XRootD in a forked child whose client library cannot work there.

The stopped and frozen server is a second XRootD instance of tests/infra/xrootd.sh (port 1096,
WebDAV on 8096, its own data directory), so that stopping it disturbs no other test. Scenarios that
depend on XrdCl settings run in a fresh Python process: XrdCl reads them once per process.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from pathlib import Path

import pytest
from storage_helpers import S3_OPTIONS, backend_missing, infra

from pipekit.errors import TransientRemoteError
from pipekit.target.remote.base import RemoteDirectoryTarget, RemoteFileSystem, RemoteFileTarget

pytestmark = [pytest.mark.storage, pytest.mark.timeout(180)]

FLAKY = {"XRD_BASE": "/tmp/infra/xrd-flaky", "XRD_PORT": "1096", "XRD_HTTP_PORT": "8096"}
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
    fs = gfal_fs(f"root://localhost:1096//{sub}")
    target = RemoteDirectoryTarget("/results", fs=fs)
    watcher = stop_when(lambda: staged_files(sub) >= 20)
    with pytest.raises(TransientRemoteError) as info:
        target.copy_from_local(str(src))
    watcher.join()
    msg = str(info.value)
    assert f"root://localhost:1096//{sub}/" in msg and "after 3 attempts" in msg
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
    fs = gfal_fs(f"root://localhost:1096//{sub}", retries=1)
    target = RemoteFileTarget("/big.bin", fs=fs)
    target.parent.touch()
    watcher = stop_when(lambda: partial_size(sub) > (4 << 20))
    with pytest.raises(TransientRemoteError, match=f"root://localhost:1096//{sub}/"):
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


FROZEN_SCRIPT = """
    import logging, sys, time
    logging.basicConfig(level=logging.WARNING, stream=sys.stdout, format="%(message)s")
    from pipekit.errors import TransientRemoteError
    from pipekit.target.remote.base import RemoteFileSystem, RemoteFileTarget
    from pipekit.target.remote.gfal import GFALFileInterface
    from pipekit.target.remote.watchdog import request_watch

    request_watch.tick = 0.2
    fi = GFALFileInterface(sys.argv[1], retries=1, retry_delay=0.2, request_timeout=2,
                           transfer_timeout=3, stall_warning=1, config_section="wlcg_fs")
    target = RemoteFileTarget("/a.json", fs=RemoteFileSystem(fi))
    target.dump({"v": 1})
    print("READY", flush=True)
    sys.stdin.readline()  # the server is frozen now
    t0 = time.monotonic()
    try:
        target.load()
    except TransientRemoteError as e:
        print(f"ERROR after {time.monotonic() - t0:.1f} s: {e}", flush=True)
    sys.stdin.readline()  # the server runs again
    print("AGAIN", target.load(), flush=True)
"""


def python_without_xrd_settings(script: str, *args: str, **popen) -> subprocess.Popen:
    """A fresh Python running *script*, without the XRD_* variables this process has set."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("XRD_")}
    env.update(popen.pop("env", {}))
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script), *args],
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        **popen,
    )


@pytest.mark.parametrize(
    "scheme, limit",
    [("root", "request_timeout (2 s)"), ("dav", "gfal_transfer_timeout (3 s)")],
)
def test_a_frozen_server_is_a_retried_error_naming_the_url_not_a_hang(scheme, limit, flaky_server):
    # root:// transfers stream in requests, each bounded by request_timeout; over WebDAV a
    # download is one request, bounded by gfal_transfer_timeout
    assert infra("xrootd", "start", env=FLAKY) is None
    sub = f"t{uuid.uuid4().hex[:8]}"
    base = f"root://localhost:1096//{sub}" if scheme == "root" else f"dav://localhost:8096/{sub}"
    pid = int((Path(FLAKY["XRD_BASE"]) / "run" / "xrootd.pid").read_text())
    proc = python_without_xrd_settings(FROZEN_SCRIPT, base, stdin=subprocess.PIPE)
    try:
        assert proc.stdout.readline().strip() == "READY"
        os.kill(pid, signal.SIGSTOP)
        try:
            proc.stdin.write("\n")
            proc.stdin.flush()
            lines = []
            while not lines or not lines[-1].startswith(("ERROR", "Traceback")):
                lines.append(proc.stdout.readline().rstrip("\n"))
                assert lines[-1] or proc.poll() is None, "\n".join(lines)
        finally:
            os.kill(pid, signal.SIGCONT)
        proc.stdin.write("\n")
        proc.stdin.flush()
        again = proc.stdout.readline().strip()
    finally:
        proc.kill()
        proc.wait()
    uri = f"{base}/a.json"
    error = lines[-1]
    assert (
        error.startswith("ERROR after ") and f"download of {uri} failed after 2 attempts" in error
    )
    assert f"no answer within {limit}" in error and "[wlcg_fs] in law.cfg" in error
    assert float(error.split()[2]) < 20  # two bounded attempts, not a hang
    # stall_warning is 1 s; a loaded machine may log it a tick late ("2 s")
    warned = re.compile(rf"download of {re.escape(uri)}: no answer for [12] s \(attempt 1 of 2\)")
    assert any(warned.search(ln) for ln in lines), "\n".join(lines)
    assert again == "AGAIN {'v': 1}"  # the same target works once the server answers again


FORK_SCRIPT = """
    import os, sys
    from pipekit.errors import RemoteError
    from pipekit.target.remote.base import RemoteFileSystem, RemoteFileTarget
    from pipekit.target.remote.gfal import GFALFileInterface

    fs = RemoteFileSystem(GFALFileInterface(sys.argv[1], retries=0, isolation=sys.argv[2]))
    print("parent sees", fs.exists("/"), flush=True)  # XrdCl starts its threads here
    pid = os.fork()
    if pid == 0:
        try:
            RemoteFileTarget("/b.json", fs=fs).exists()
            print("child: no error", flush=True)
        except RemoteError as e:
            print(f"child: {e}", flush=True)
        os._exit(0)
    os.waitpid(pid, 0)
"""


def test_xrootd_in_a_fork_without_the_fork_handler_is_an_error_not_a_hang(require_service):
    # with requests in this process (isolation never), XrdCl cannot work in the fork
    reason = backend_missing("xrootd")
    require_service("xrootd", reason is None, reason or "")
    base = "root://localhost:1094//pipekit-tests"
    proc = python_without_xrd_settings(FORK_SCRIPT, base, "never", env={"XRD_RUNFORKHANDLER": "0"})
    out, _ = proc.communicate(timeout=60)  # XrdCl would wait forever in the child
    assert "parent sees True" in out
    assert "child: XRootD cannot be used in this process" in out and "XRD_RUNFORKHANDLER=0" in out


def test_xrootd_in_a_fork_works_without_the_fork_handler_through_the_helper(require_service):
    # the default: each process has its own request helper, a fresh process XrdCl starts in
    reason = backend_missing("xrootd")
    require_service("xrootd", reason is None, reason or "")
    base = "root://localhost:1094//pipekit-tests"
    proc = python_without_xrd_settings(FORK_SCRIPT, base, "auto", env={"XRD_RUNFORKHANDLER": "0"})
    out, _ = proc.communicate(timeout=60)
    assert "parent sees True" in out and "child: no error" in out
