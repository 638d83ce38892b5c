"""
Helpers for the storage tests: start the real servers of tests/infra (idempotent, once per test
session), make the gfal2 bindings importable, and build remote file systems on each backend.

Backends (all on localhost):

- ``xrootd``:  root://localhost:1094//   XRootD 5.5 through gfal2 (adler32 checksums)
- ``xrdhttp``: dav://localhost:8094/     the same XRootD server over its WebDAV plugin, gfal2
- ``wsgidav``: dav://localhost:8095/     a plain WebDAV server (no checksums, no TPC), gfal2
- ``s3``:      s3://testbucket/ on http://127.0.0.1:5000 (moto), through fsspec/s3fs
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import uuid
from pathlib import Path

from concurrency_helpers import in_forked_children

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "tests" / "infra"
XRD_DATA = Path("/tmp/infra/xrd/data")
WSGIDAV_DATA = Path("/tmp/infra/wsgidav/data")
S3_OPTIONS = {"endpoint_url": "http://127.0.0.1:5000", "key": "testing", "secret": "testing"}

#: backend -> (service script, base URL of the test area, data directory on the server or None)
BACKENDS = {
    "xrootd": ("xrootd", "root://localhost:1094//pipekit-tests", XRD_DATA / "pipekit-tests"),
    "xrdhttp": ("xrootd", "dav://localhost:8094/pipekit-tests", XRD_DATA / "pipekit-tests"),
    "wsgidav": ("webdav", "dav://localhost:8095/pipekit-tests", WSGIDAV_DATA / "pipekit-tests"),
    "s3": ("s3", "s3://testbucket/pipekit-tests", None),
}

__all__ = [
    "BACKENDS",
    "service",
    "gfal2_missing",
    "backend_missing",
    "make_fs",
    "infra",
    "XRD_DATA",
    "in_forked_children",
]


def infra(
    name: str, action: str = "start", env: dict | None = None, timeout: float = 600
) -> str | None:
    """Run ``tests/infra/<name>.sh <action>``; None on success, else why it failed."""
    script = INFRA / f"{name}.sh"
    try:
        proc = subprocess.run(
            [str(script), action],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=None if env is None else {**os.environ, **env},
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"{script} {action}: {e}"
    if proc.returncode != 0:
        return f"{script} {action} failed: {(proc.stderr or proc.stdout).strip()[-300:]}"
    return None


@functools.cache
def service(name: str) -> str | None:
    """Start a storage service once per session; None when it runs, else the reason."""
    return infra(name, "start")


@functools.cache
def gfal2_missing() -> str | None:
    """Make ``import gfal2`` work in this interpreter (adding the venv shim if needed)."""
    try:
        import gfal2  # noqa: F401

        return None
    except ImportError:
        pass
    # install when missing, write the .pth shim into this venv, and (since .pth files are read
    # only at interpreter start) put the shim directory on sys.path right away
    reason = infra("gfal2", "start") or infra("gfal2", "shim", timeout=60)
    subprocess.run([str(INFRA / "gfal2.sh"), "shim", sys.prefix], capture_output=True, timeout=60)
    shim = os.environ.get("GFAL2_SHIM_DIR", "/tmp/infra/gfal2-pyshim")
    if os.path.isdir(shim) and shim not in sys.path:
        sys.path.append(shim)
    try:
        import gfal2  # noqa: F401, F811
    except ImportError as e:
        return reason or f"gfal2 bindings not importable: {e}"
    return None


def backend_missing(backend: str) -> str | None:
    """Why *backend* cannot be tested here, or None."""
    svc = BACKENDS[backend][0]
    reason = service(svc)
    if reason is None and backend != "s3":
        reason = gfal2_missing()
    if reason is None and backend == "s3":
        try:
            import s3fs  # noqa: F401
        except ImportError as e:
            reason = f"s3fs not installed: {e}"
    return reason


def make_fs(backend: str, retries: int = 1, retry_delay: float = 0.1, **kwargs):
    """A RemoteFileSystem on a fresh, unique directory of *backend*; ``fs.data`` is its server dir."""
    from pipekit.target.remote.base import RemoteFileSystem

    _, base, data = BACKENDS[backend]
    sub = f"t{uuid.uuid4().hex[:10]}"
    base = f"{base}/{sub}"
    if backend == "s3":
        from pipekit.target.remote.fsspec import FSSpecFileInterface

        fi = FSSpecFileInterface(
            base, storage_options=S3_OPTIONS, retries=retries, retry_delay=retry_delay
        )
    else:
        from pipekit.target.remote.gfal import GFALFileInterface

        fi = GFALFileInterface(base, retries=retries, retry_delay=retry_delay)
    fs = RemoteFileSystem(fi, name=f"{backend}_fs", **kwargs)
    fs.data = data / sub if data else None
    return fs
