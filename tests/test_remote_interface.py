"""
The remote file-interface base (pipekit/target/remote/interface.py): URIs from bases, error
classification, retries with backoff, round-robin and fail-over over several bases.

Unreachable servers are real: closed TCP ports on localhost, reached through fsspec's HTTP file
system (aiohttp), so "connection refused" is the operating system's answer, not a stand-in.
"""

from __future__ import annotations

import errno
import logging
import socket
import time

import pytest

from pipekit.errors import RemoteError, TargetExistsError, TargetMissingError, TransientRemoteError
from pipekit.target.remote.base import RemoteFileSystem
from pipekit.target.remote.fsspec import FSSpecFileInterface
from pipekit.target.remote.interface import classify_errno, join_uri, split_scheme

pytest.importorskip("aiohttp", reason="fsspec's HTTP file system needs aiohttp (pipekit[fsspec])")


def closed_port() -> int:
    """A localhost TCP port nobody listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def unreachable_fs(n_bases: int = 1, retries: int = 2, delay: float = 0.05) -> RemoteFileSystem:
    bases = [f"http://127.0.0.1:{closed_port()}/store{i}" for i in range(n_bases)]
    fi = FSSpecFileInterface(
        bases, retries=retries, retry_delay=delay, config_section="wlcg_fs_test"
    )
    return RemoteFileSystem(fi, name="wlcg_fs_test")


def test_join_uri_keeps_the_double_slash_of_xrootd_bases():
    assert join_uri("root://host:1094//", "/a/b.json") == "root://host:1094//a/b.json"
    assert join_uri("root://host:1094//store", "/a/b.json") == "root://host:1094//store/a/b.json"
    assert join_uri("s3://bucket/prefix/", "/x") == "s3://bucket/prefix/x"
    assert join_uri("dav://host:8094/store", "/") == "dav://host:8094/store"


def test_split_scheme_separates_scheme_from_the_rest():
    assert split_scheme("root://host//a") == ("root", "//host//a")
    assert split_scheme("/local/path") == ("", "/local/path")
    assert split_scheme("C:/weird") == ("", "C:/weird")


@pytest.mark.parametrize(
    "code, cls",
    [
        (errno.ENOENT, TargetMissingError),
        (errno.EEXIST, TargetExistsError),
        (errno.EACCES, RemoteError),
        (errno.ECONNREFUSED, TransientRemoteError),
        (errno.ETIMEDOUT, TransientRemoteError),
        (errno.EIO, TransientRemoteError),
        (None, TransientRemoteError),
    ],
)
def test_errors_are_classified_by_errno(code, cls):
    err = classify_errno(code, "boom", "stat", "root://h//a.json")
    assert type(err) is cls
    if cls is not TransientRemoteError:  # transient messages get the URI when retries run out
        assert "root://h//a.json" in str(err)


def test_exists_on_an_unreachable_server_raises_after_the_retries():
    fs = unreachable_fs(retries=2, delay=0.05)
    t0 = time.monotonic()
    with pytest.raises(TransientRemoteError) as info:
        fs.exists("/results/a.json")
    elapsed = time.monotonic() - t0
    msg = str(info.value)
    assert fs.uri("/results/a.json") in msg
    assert "after 3 attempts" in msg and "[wlcg_fs_test]" in msg and "retries" in msg
    assert fs.op_counts["stat"] == 3
    # backoff: waited about 0.05 + 0.1 s between the three attempts
    assert elapsed >= 0.13


def test_an_unreachable_server_never_reads_as_a_missing_directory():
    fs = unreachable_fs(retries=0)
    with pytest.raises(TransientRemoteError):
        fs.existing_names("/results")
    with pytest.raises(TransientRemoteError):
        fs.isdir("/results")


def test_each_call_starts_on_the_next_base_and_retries_fail_over(caplog):
    fs = unreachable_fs(n_bases=2, retries=1, delay=0.01)
    b0, b1 = fs.base
    caplog.set_level(logging.DEBUG, logger="pipekit.target.remote")
    for _ in range(2):
        with pytest.raises(TransientRemoteError):
            fs.stat("/x.json")
    requests = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    assert requests == [
        f"stat {b0}/x.json",
        f"stat {b1}/x.json",  # first call: b0, fails over
        f"stat {b1}/x.json",
        f"stat {b0}/x.json",
    ]  # second call starts on b1


def test_retry_notices_are_logged_with_the_uri(caplog):
    fs = unreachable_fs(retries=1, delay=0.01)
    with (
        caplog.at_level(logging.INFO, logger="pipekit.target.remote"),
        pytest.raises(TransientRemoteError),
    ):
        fs.stat("/a.json")
    notices = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert len(notices) == 1 and fs.uri("/a.json") in notices[0] and "attempt 2 of 2" in notices[0]


def test_retries_zero_fails_at_once():
    fs = unreachable_fs(retries=0)
    with pytest.raises(TransientRemoteError, match="after 1 attempt "):
        fs.stat("/a.json")
    assert fs.op_counts["stat"] == 1
