"""
Temporaries that cut uploads leave on a real XRootD server are removed when the same output is
written again: after the server crashed under an upload (same process, the removal is retried
once the server is back), and after the uploading process was killed (a later process that
lists the directory, as a workflow's completeness check does, removes what the dead writer left). The crash uses the stoppable second server of
test_storage_failures.py (port 1096).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid

import pytest
from storage_helpers import XRD_DATA, backend_missing
from test_storage_failures import (  # noqa: F401 - flaky_server is a fixture
    FLAKY,
    FLAKY_DATA,
    flaky_server,
    gfal_fs,
    infra,
    partial_size,
    stop_when,
)

from pipekit.errors import TransientRemoteError
from pipekit.target.collection import TargetCollection
from pipekit.target.remote.base import RemoteFileTarget

pytestmark = [pytest.mark.storage, pytest.mark.timeout(180)]


def temporaries(directory) -> list[str]:
    return sorted(n for n in os.listdir(directory) if ".pktmp-" in n) if directory.exists() else []


@pytest.mark.usefixtures("flaky_server")
def test_a_rewrite_after_a_server_crash_removes_the_temporary_of_the_cut_upload(tmp_path):
    assert infra("xrootd", "start", env=FLAKY) is None
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(64 << 20))
    sub = f"t{uuid.uuid4().hex[:8]}"
    target = RemoteFileTarget("/big.bin", fs=gfal_fs(f"root://localhost:1096//{sub}", retries=1))
    target.parent.touch()
    watcher = stop_when(lambda: partial_size(sub) > (4 << 20))
    with pytest.raises(TransientRemoteError):
        target.copy_from_local(str(big))
    watcher.join()
    assert len(temporaries(FLAKY_DATA / sub)) == 1  # the server kept the cut upload

    assert infra("xrootd", "start", env=FLAKY) is None
    target.copy_from_local(str(big))
    assert (FLAKY_DATA / sub / "big.bin").stat().st_size == 64 << 20
    assert temporaries(FLAKY_DATA / sub) == []


_UPLOADER = textwrap.dedent("""
    import sys
    from pipekit.target.remote.base import RemoteFileSystem, RemoteFileTarget
    from pipekit.target.remote.gfal import GFALFileInterface

    base, local = sys.argv[1], sys.argv[2]
    fs = RemoteFileSystem(GFALFileInterface(base, retries=0), name="wlcg_fs")
    print("uploading", flush=True)
    RemoteFileTarget("/big.bin", fs=fs).copy_from_local(local)
""")


def test_a_rewrite_removes_what_a_killed_uploader_left_on_the_server(tmp_path, require_service):
    reason = backend_missing("xrootd")
    require_service("xrootd", reason is None, reason or "")
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(256 << 20))
    sub = f"pipekit-tests/t{uuid.uuid4().hex[:8]}"
    base = f"root://localhost:1094//{sub}"
    target = RemoteFileTarget("/big.bin", fs=gfal_fs(base))
    target.parent.touch()
    script = tmp_path / "uploader.py"
    script.write_text(_UPLOADER)
    proc = subprocess.Popen([sys.executable, str(script), base, str(big)], stdout=subprocess.PIPE,
                            text=True)
    try:
        assert proc.stdout.readline().strip() == "uploading"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            left = temporaries(XRD_DATA / sub)
            if left and os.path.getsize(XRD_DATA / sub / left[0]) > (8 << 20):
                break
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)  # killed mid-upload (walltime, OOM, Ctrl-C twice)
        proc.wait(timeout=10)
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()
    time.sleep(0.5)  # its helper process notices and ends too
    assert len(temporaries(XRD_DATA / sub)) == 1 and not (XRD_DATA / sub / "big.bin").exists()

    small = tmp_path / "small.bin"
    small.write_bytes(b"second run")
    # the re-run: the workflow sees what is done (one listing of the output directory), then
    # writes the missing output
    sibling = RemoteFileTarget("/other.bin", fs=target.fs)
    assert TargetCollection([target, sibling]).count() == 0
    target.copy_from_local(str(small))
    assert (XRD_DATA / sub / "big.bin").read_bytes() == b"second run"
    assert temporaries(XRD_DATA / sub) == []
