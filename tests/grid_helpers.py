"""
Helpers for the grid tests: start the mini-grid of ``tests/infra/`` on localhost (test CA,
VOMS server, GSI XRootD, ARC CE) once per session, stop at the end what this session started
itself (outside CI: a developer's machine is left as it was found), and the environment a
grid user has (``X509_*`` pointing at the test CA and one of its proxies).

Proxies made by ``tests/infra/gridca.sh`` / ``voms.sh`` (under ``/tmp/infra/gridca/proxy``):
``x509up_12h`` (plain, 12 h), ``x509up_1h``, ``x509up_expired`` (expired in 2020) and
``x509up_voms`` (12 h, VO "pipekit" with /pipekit and /pipekit/prod).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INFRA = ROOT / "tests" / "infra"
GRIDCA = Path("/tmp/infra/gridca")
PROXIES = GRIDCA / "proxy"
#: the services of the mini-grid, in the order they depend on each other
SERVICES = ("gridca", "voms", "xrootd_gsi", "arc")
GSI_URL = "root://localhost:1095/"
ARC_CE = "https://localhost:8443/arex"

__all__ = ["GRIDCA", "PROXIES", "GSI_URL", "ARC_CE", "start", "stop_started", "grid_env",
           "proxy", "infra",
           "make_proxy"]

_reasons: dict[str, str | None] = {}
_started: list[str] = []


def infra(name: str, action: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([str(INFRA / f"{name}.sh"), action], capture_output=True, text=True,
                          timeout=timeout)


def start(name: str) -> str | None:
    """Start service *name* (and what it needs) once per session; None when it runs, else why not."""
    if name in _reasons:
        return _reasons[name]
    if name != "gridca":  # every service trusts the test CA
        reason = start("gridca")
        if reason:
            _reasons[name] = reason
            return reason
    if os.geteuid() != 0:
        _reasons[name] = f"tests/infra/{name}.sh needs root (apt, daemons, a system user)"
        return _reasons[name]
    try:
        running = name != "gridca" and infra(name, "status", timeout=60).returncode == 0
        proc = infra(name, "start")
    except (OSError, subprocess.TimeoutExpired) as e:
        _reasons[name] = f"tests/infra/{name}.sh start: {e}"
        return _reasons[name]
    if proc.returncode != 0:
        _reasons[name] = f"tests/infra/{name}.sh start failed: {(proc.stderr or proc.stdout).strip()[-400:]}"
        return _reasons[name]
    if not running and name != "gridca":
        _started.append(name)
    _reasons[name] = None
    return None


def stop_started() -> list[str]:
    """Stop the daemons this session started (not in CI, where the machine is thrown away)."""
    if os.getenv("CI", "").lower() == "true":
        return []
    stopped = []
    for name in reversed(_started):
        infra(name, "stop", timeout=120)
        stopped.append(name)
    _started.clear()
    return stopped


def make_proxy(valid: str, path: str) -> str:
    """A fresh plain proxy of the Test User at *path*, valid *valid* ("H:MM")."""
    subprocess.run([str(INFRA / "gridca.sh"), "proxy", valid, path], check=True,
                   capture_output=True, timeout=60)
    return path


def proxy(name: str = "x509up_12h") -> str:
    return str(PROXIES / name)


def grid_env(proxy_name: str | None = "x509up_12h", base: dict | None = None) -> dict[str, str]:
    """*base* (default: this environment) with the test grid's X509_* variables."""
    env = dict(os.environ if base is None else base)
    env.update(
        X509_CERT_DIR=str(GRIDCA / "certificates"), X509_VOMS_DIR=str(GRIDCA / "vomsdir"),
        X509_VOMSES=str(GRIDCA / "vomses"), VOMS_USERCONF=str(GRIDCA / "vomses"),
        X509_USER_CERT=str(GRIDCA / "user" / "usercert.pem"),
        X509_USER_KEY=str(GRIDCA / "user" / "userkey.pem"),
    )
    if proxy_name is None:
        env.pop("X509_USER_PROXY", None)
    else:
        env["X509_USER_PROXY"] = proxy(proxy_name)
    return env
