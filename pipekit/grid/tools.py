"""
Making new X.509 proxies with the grid tools: :func:`make_proxy` runs ``voms-proxy-init`` or
``arcproxy`` (through :func:`pipekit.shell.run_command`), with the certificate's passphrase from
an argument or a file on stdin (never on a command line), and checks the result with
:func:`pipekit.grid.credentials.load_proxy`.
"""

from __future__ import annotations

import math
import os
from typing import Any

from pipekit.errors import CommandError, CredentialError
from pipekit.grid.credentials import Credential, load_proxy, proxy_location
from pipekit.humanize import parse_duration
from pipekit.shell import run_command

__all__ = ["make_proxy", "TOOLS", "lifetime_seconds"]

TOOLS = ("voms-proxy-init", "arcproxy")


def lifetime_seconds(lifetime: Any) -> int:
    """law's lifetimes: a number of hours or a duration such as ``"8 days"``, ``"12h"``, ``"90m"``."""
    try:
        return max(60, math.ceil(parse_duration(lifetime, input_unit="h", unit="s")))
    except ValueError:
        raise CredentialError(f"cannot read the proxy lifetime {lifetime!r}; use e.g. 12 (hours), "
                              "'8 days' or '90m'") from None


def make_proxy(tool: str = "voms-proxy-init", proxy_file: str | None = None, vo: str | None = None,
               lifetime: Any = "8 days", rfc: bool = True, password: str | None = None,
               password_file: str | None = None, timeout: float = 120.0) -> Credential:
    """
    Make a proxy at *proxy_file* (default: ``$X509_USER_PROXY``, else ``/tmp/x509up_u<uid>``)
    from the user certificate (``$X509_USER_CERT`` / ``~/.globus/usercert.pem``), with the
    attributes of VOMS VO *vo* (``"vo"`` or ``"vo:/vo/Role=x"``) when given; returns it read
    back. A failing tool raises :class:`CredentialError` with the tool's message.
    """
    if tool not in TOOLS:
        raise CredentialError(f"unknown proxy tool {tool!r}; use one of {', '.join(TOOLS)}")
    path = os.path.abspath(os.path.expanduser(proxy_file)) if proxy_file else proxy_location()[0]
    seconds = lifetime_seconds(lifetime)
    secret = password
    if password_file:
        with open(os.path.expanduser(str(password_file)), encoding="utf-8") as f:
            lines = f.read().splitlines()
        secret = lines[0] if lines else ""
    if tool == "voms-proxy-init":
        hours, minutes = divmod(math.ceil(seconds / 60), 60)
        cmd = ["voms-proxy-init", "--valid", f"{hours}:{minutes:02d}", "--out", path]
        if vo:
            cmd += ["--voms", vo]
        if rfc:
            cmd.append("--rfc")
        if secret is not None:
            cmd.append("--pwstdin")
    else:
        cmd = ["arcproxy", "--proxy", path, "--constraint", f"validityPeriod={seconds}"]
        if vo:
            cmd += ["--voms", vo, "--constraint", f"vomsACvalidityPeriod={seconds}"]
        if secret is not None:
            cmd += ["--passwordsource", "key=stdin"]
    # no passphrase given: stdin is empty, so a tool that would prompt fails instead of hanging
    stdin = (secret or "") + "\n"
    try:
        try:
            run_command(cmd, timeout=timeout, input=stdin)
        except CommandError as e:
            # arcproxy asks VOMS over REST first; VOMS servers without it (the C++ voms 2.x
            # server) answer only the legacy protocol
            if tool != "arcproxy" or not vo or "VOMS" not in (e.stderr + e.args[0]):
                raise
            run_command(cmd + ["--oldcom"], timeout=timeout, input=stdin)
    except CommandError as e:
        detail = e.stderr.strip().splitlines()[-1] if e.stderr.strip() else str(e)
        raise CredentialError(f"{tool} could not make a proxy at {path}: {detail}") from None
    os.chmod(path, 0o600)
    return load_proxy(path, "the file just made")
