"""
XRootD requests in a helper process (pipekit/target/remote/isolation.py), against the real XRootD
of tests/infra/xrootd.sh: processes forked from a process busy with XRootD never hang (also when
other code of the parent started XrdCl, with its fork handler off), and a request whose client
library stops answering is ended after request_timeout, naming the URI. The helper's own
behaviour (errors, a killed helper, forks) is tested on gfal2's file:// plugin, where a named
pipe nobody writes to is a request that never ends.

Each scenario runs in a fresh Python: XrdCl's threads and settings live once per process, and
the forks must come from a process that really has them (or would have them, without helpers).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import time
import uuid

import pytest
from storage_helpers import XRD_DATA, backend_missing, gfal2_missing

from pipekit.errors import TargetMissingError, TransientRemoteError

pytestmark = [pytest.mark.storage, pytest.mark.timeout(900)]

BASE = "root://localhost:1094//pipekit-tests"


@pytest.fixture
def xrootd(require_service):
    reason = backend_missing("xrootd")
    require_service("xrootd", reason is None, reason or "")
    sub = f"iso{uuid.uuid4().hex[:8]}"
    yield f"{BASE}/{sub}", XRD_DATA / "pipekit-tests" / sub


def python(script: str, *args: str, timeout: float, env: dict | None = None) -> str:
    """Run *script* in a fresh Python without this process's XRD_* settings (plus *env*); its
    output."""
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("XRD_")}, **(env or {})}
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(script), *args], env=env,
                          capture_output=True, text=True, timeout=timeout)
    return proc.stdout + proc.stderr


FORK_LOOP = """
    import os, signal, sys, threading, time
    from pipekit.target.remote.base import RemoteFileSystem, RemoteFileTarget
    from pipekit.target.remote.gfal import GFALFileInterface

    base, n, isolation = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    fi = GFALFileInterface(base, retries=0, request_timeout=10, isolation=isolation)
    fs = RemoteFileSystem(fi)
    fs.mkdir("/", recursive=True)
    stop = threading.Event()

    def busy():  # the parent keeps using XRootD while it forks (luigi checking outputs)
        while not stop.is_set():
            fs.exists("/")

    threads = [threading.Thread(target=busy, daemon=True) for _ in range(3)]
    for t in threads:
        t.start()
    hangs = failed = 0
    for first in range(0, n, 2):  # two workers at a time, as with --workers 2
        pids = []
        for i in (first, first + 1):
            pid = os.fork()
            if pid == 0:
                code = 1
                try:
                    RemoteFileTarget(f"/out_{i}.json", fs=fs).dump({"i": i})
                    code = 0
                finally:
                    os._exit(code)
            pids.append(pid)
        for pid in pids:
            deadline = time.monotonic() + 30  # a child's write takes well under a second
            while True:
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    failed += status != 0
                    break
                if time.monotonic() > deadline:
                    hangs += 1
                    os.kill(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)
                    break
                time.sleep(0.005)
    stop.set()
    print(f"RESULT {n} forks, {hangs} hangs, {failed} failed", flush=True)
    os._exit(0)  # the busy threads may be inside a request
"""


def test_forks_of_a_process_busy_with_xrootd_never_hang(xrootd):
    base, data = xrootd
    n = 300
    out = python(FORK_LOOP, base, str(n), "auto", timeout=850)
    m = re.search(r"RESULT (\d+) forks, (\d+) hangs, (\d+) failed", out)
    assert m, out[-2000:]
    assert m.groups() == (str(n), "0", "0"), out[-2000:]
    assert sorted(os.listdir(data)) == sorted(f"out_{i}.json" for i in range(n))
    assert (data / "out_7.json").read_text().strip() == '{"i": 7}'


STUCK_HELPER = """
    import logging, os, signal, sys, time
    logging.basicConfig(level=logging.WARNING, stream=sys.stdout, format="%(message)s")
    from pipekit.target.remote.gfal import GFALFileInterface

    fi = GFALFileInterface(sys.argv[1], retries=int(sys.argv[2]), retry_delay=0.1,
                           request_timeout=2, stall_warning=0)
    fi.mkdir("/", recursive=True)  # starts this process's request helper
    me = os.getpid()
    children = set()
    for task in os.listdir(f"/proc/{me}/task"):
        with open(f"/proc/{me}/task/{task}/children") as f:
            children.update(int(p) for p in f.read().split())
    (helper,) = children
    os.kill(helper, signal.SIGSTOP)  # stuck in its client library, as after a bad fork
    t0 = time.monotonic()
    try:
        print("ANSWER", fi.exists("/missing.json"), flush=True)
    except Exception as e:
        print(f"ERROR {type(e).__name__}: {e}", flush=True)
    print(f"AFTER {time.monotonic() - t0:.1f} s", flush=True)
    print("HELPER GONE", not os.path.exists(f"/proc/{helper}") or
          open(f"/proc/{helper}/stat").read().split()[2] == "Z", flush=True)
"""


def test_a_stuck_request_is_ended_after_request_timeout_and_retried(xrootd):
    base, _ = xrootd
    out = python(STUCK_HELPER, base, "1", timeout=120)
    uri = f"{base}/missing.json"
    assert f"stat of {uri}: no answer within request_timeout (2 s); ending the request" in out, out
    assert "ANSWER None" in out, out  # the retry, in a fresh helper, got the answer
    seconds = float(re.search(r"AFTER ([\d.]+) s", out).group(1))
    assert 2 <= seconds < 15, out  # request_timeout + grace, not forever
    assert "HELPER GONE True" in out, out


def test_a_stuck_request_without_retries_is_an_error_naming_the_uri(xrootd):
    base, _ = xrootd
    out = python(STUCK_HELPER, base, "0", timeout=120)
    uri = f"{base}/missing.json"
    assert f"ERROR TransientRemoteError: stat of {uri} failed after 1 attempt" in out, out
    assert "without an answer (its request helper process" in out, out
    assert "no answer within request_timeout (2 s)" in out, out


OUTSIDE_USE = """
    import os, signal, sys, time
    import gfal2
    from pipekit.target.remote.gfal import GFALFileInterface

    base = sys.argv[1]
    gfal2.creat_context().stat(base)  # the analysis reads its file list through XRootD itself
    fi = GFALFileInterface(base, retries=0, request_timeout=3)
    pid = os.fork()
    if pid == 0:
        print("CHILD SEES", fi.exists("/") is not None, flush=True)
        os._exit(0)
    deadline = time.monotonic() + 40
    while not os.waitpid(pid, os.WNOHANG)[0]:
        if time.monotonic() > deadline:
            print("CHILD HANGS", flush=True)
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            break
        time.sleep(0.01)
"""


def test_a_fork_after_xrootd_use_outside_pipekit_does_not_hang_without_the_fork_handler(xrootd):
    # XrdCl started by other code in the parent (uproot, gfal2 itself), its fork handler off:
    # a request in the child's own process would wait forever, whatever request_timeout says
    out = python(OUTSIDE_USE, BASE, timeout=120, env={"XRD_RUNFORKHANDLER": "0"})
    assert "CHILD SEES True" in out, out


# -- the helper on file:// (gfal2 bindings only, no server) ----------------------------------


@pytest.fixture
def gfal2(require_service):
    reason = gfal2_missing()
    require_service("gfal2 bindings", reason is None, reason or "")


def interface(tmp_path, **kwargs):
    from pipekit.target.remote.gfal import GFALFileInterface

    kwargs.setdefault("retries", 0)
    return GFALFileInterface(f"file://{tmp_path}", isolation="always", **kwargs)


def helper_pid(fi) -> int:
    return fi._local.helper.helper_pid


def test_requests_run_in_a_helper_process_and_errors_come_back_as_they_are(gfal2, tmp_path):
    fi = interface(tmp_path)
    (tmp_path / "a.txt").write_text("abc")
    assert fi.stat("/a.txt").st_size == 3
    assert helper_pid(fi) not in (None, os.getpid())
    with pytest.raises(TargetMissingError, match=f"file://{tmp_path}/b.txt: it does not exist"):
        fi.stat("/b.txt")
    fi.download("/a.txt", str(tmp_path / "copy.txt"))
    assert (tmp_path / "copy.txt").read_text() == "abc"


def test_a_helper_killed_between_requests_is_replaced(gfal2, tmp_path):
    fi = interface(tmp_path)
    assert fi.exists("/") is not None
    first = helper_pid(fi)
    os.kill(first, signal.SIGKILL)
    time.sleep(0.2)
    assert fi.exists("/") is not None
    assert helper_pid(fi) != first


def test_a_request_that_never_ends_is_stopped_after_its_timeout(gfal2, tmp_path, monkeypatch):
    from pipekit.target.remote.isolation import RequestHelper

    monkeypatch.setattr(RequestHelper, "grace", 0.5)
    os.mkfifo(tmp_path / "stuck")  # opening it for reading waits for a writer forever
    fi = interface(tmp_path, retries=1, retry_delay=0.1, transfer_timeout=1, stall_warning=0)
    fi.exists("/")
    stuck = helper_pid(fi)
    t0 = time.monotonic()
    with pytest.raises(TransientRemoteError) as e:
        fi.download("/stuck", str(tmp_path / "out"))
    seconds = time.monotonic() - t0
    msg = str(e.value)
    assert f"download of file://{tmp_path}/stuck failed after 2 attempts" in msg
    assert "without an answer (its request helper process" in msg
    assert 3 <= seconds < 10  # two attempts of 1 s + 0.5 s grace each (and a new helper)
    assert not os.path.exists(f"/proc/{stuck}")  # stopped and reaped
    assert fi.exists("/") is not None  # a fresh helper answers again


def test_a_forked_child_starts_its_own_helper(gfal2, tmp_path):
    fi = interface(tmp_path)
    fi.exists("/")
    parent_helper = helper_pid(fi)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            ok = fi.exists("/") is not None
            os.write(write, f"{ok} {helper_pid(fi)}".encode())
        finally:
            os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    ok, child_helper = os.read(read, 100).decode().split()
    assert ok == "True" and int(child_helper) != parent_helper
    assert fi.exists("/") is not None and helper_pid(fi) == parent_helper  # the parent's is intact
