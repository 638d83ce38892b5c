"""
The request watch (pipekit/target/remote/watchdog.py): a remote request without an answer (or a
transfer without progress) is logged while it waits, so a stuck server is never a silent hang.

The silent server is real: a TCP socket on localhost that accepts the connection and says nothing
until it hangs up, reached through fsspec's HTTP file system (aiohttp). The same against a frozen
XRootD server, through gfal2, is in tests/integration/test_storage_failures.py.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import re
import socket
import threading
import time

import pytest

from pipekit.errors import TransientRemoteError
from pipekit.target.remote.base import RemoteFileSystem
from pipekit.target.remote.fsspec import FSSpecFileInterface
from pipekit.target.remote.watchdog import RequestWatch, read_offset, request_watch

pytest.importorskip("aiohttp", reason="fsspec's HTTP file system needs aiohttp (pipekit[fsspec])")


@pytest.fixture(autouse=True)
def fast_ticks(monkeypatch):
    monkeypatch.setattr(RequestWatch, "tick", 0.05)


def silent_server(hold: float) -> int:
    """A localhost port whose server accepts one connection, answers nothing, hangs up after *hold* s."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)

    def serve():
        conn, _ = srv.accept()
        time.sleep(hold)
        conn.close()
        srv.close()

    threading.Thread(target=serve, daemon=True).start()
    return srv.getsockname()[1]


def warnings_of(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


def test_a_request_to_a_silent_server_is_logged_while_it_waits(caplog):
    port = silent_server(hold=2.5)
    fi = FSSpecFileInterface(f"http://127.0.0.1:{port}/store", retries=0, stall_warning=1.0)
    fs = RemoteFileSystem(fi, name="silent")
    with caplog.at_level(logging.WARNING, logger="pipekit.target.remote"):
        with pytest.raises(TransientRemoteError, match=f"127.0.0.1:{port}/store/a.json"):
            fs.exists("/a.json")
    uri = re.escape(f"http://127.0.0.1:{port}/store/a.json")
    logged = warnings_of(caplog)
    assert len(logged) == 3, logged  # after 1 s, after twice as long, and when it is over
    assert re.match(
        rf"stat of {uri}: no answer for 1 s \(attempt 1 of 1\), still waiting", logged[0]
    )
    assert "stop the run if it does not recover" in logged[0]  # fsspec's HTTP has no timeout
    assert re.match(rf"stat of {uri}: no answer for 2 s", logged[1])
    assert re.fullmatch(rf"stat of {uri}: over after [23] s", logged[2])


def test_a_fast_request_logs_nothing(tmp_path, caplog):
    fs = RemoteFileSystem(FSSpecFileInterface(f"file://{tmp_path}", stall_warning=0.5))
    with caplog.at_level(logging.WARNING, logger="pipekit.target.remote"):
        assert not fs.exists("/a.json")
        time.sleep(0.6)  # the watch has looked after the request ended
    assert warnings_of(caplog) == [] and request_watch.running() == []


def test_heartbeats_and_probes_keep_a_long_transfer_quiet(caplog):
    watch = RequestWatch()
    sizes = iter(range(10**6))
    with caplog.at_level(logging.WARNING, logger="pipekit.target.remote"):
        with watch.watch("upload", "root://h//a", "1 of 1", 0.3, ""):
            for _ in range(12):  # chunks moved by pipekit's own loop
                time.sleep(0.1)
                watch.heartbeat()
        with watch.watch("download", "dav://h/b", "1 of 1", 0.3, ""):
            watch.set_probe(lambda: next(sizes))  # e.g. the size of the local file growing
            time.sleep(1.2)
        quiet = list(warnings_of(caplog))
        with watch.watch("upload", "root://h//c", "1 of 1", 0.3, "Given up after 2 s."):
            watch.heartbeat()
            time.sleep(0.5)  # then the transfer stalls
    assert quiet == []
    assert re.fullmatch(
        r"upload of root://h//c: no progress for 0\.\d s \(attempt 1 of 1\), still waiting; the "
        r"server may be overloaded or unreachable\. Given up after 2 s\.",
        warnings_of(caplog)[0],
    )


def test_read_offset_follows_a_file_being_read(tmp_path):
    path = tmp_path / "big.bin"
    path.write_bytes(b"x" * 5000)
    fd = os.open(path, os.O_RDONLY)
    try:
        os.read(fd, 1234)
        assert read_offset(str(path)) == 1234
    finally:
        os.close(fd)
    assert read_offset(str(path)) is None  # nobody reads it now


def _running_in_child(queue) -> None:
    inherited = request_watch.running()
    with request_watch.watch("stat", "root://h//child", "1 of 1", 60, ""):
        queue.put((inherited, [op_uri[:2] for op_uri in request_watch.running()]))


def test_a_forked_child_watches_only_its_own_requests():
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    with request_watch.watch("stat", "root://h//parent", "1 of 1", 60, ""):
        child = ctx.Process(target=_running_in_child, args=(queue,))
        child.start()
        inherited, own = queue.get(timeout=30)
        child.join(timeout=30)
    assert inherited == [] and own == [("stat", "root://h//child")]
    assert child.exitcode == 0
