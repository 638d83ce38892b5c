"""
The proxy helpers behind law's names (``law.wlcg.get_vomsproxy_lifetime()``,
``law.arc.get_arcproxy_vo()``, the ``ensure_vomsproxy`` / ``ensure_arcproxy`` decorators ...):
answers read from the proxy file by :mod:`pipekit.grid.credentials`, new proxies made by
:mod:`pipekit.grid.tools`. law ran ``voms-proxy-info`` / ``arcproxy -I`` for each answer; the
values are the same (the tests compare them with those tools).
"""

from __future__ import annotations

import re
import time
from typing import Any, Callable

from pipekit.errors import CredentialError
from pipekit.grid.credentials import X509, Credential, load_proxy, renew_command
from pipekit.grid.tools import make_proxy

__all__ = ["proxy_or_none", "proxy_lifetime", "proxy_valid", "renew", "common_name",
           "ensure_callbacks"]

def proxy_or_none(proxy_file: Any = None, silent: bool = False) -> Credential | None:
    """The proxy at *proxy_file* (default location when None or ""); None if *silent* and unusable."""
    try:
        return load_proxy(str(proxy_file) if proxy_file else None)
    except CredentialError:
        if silent:
            return None
        raise


def proxy_lifetime(proxy_file: Any = None, silent: bool = False) -> int | None:
    """Whole seconds the proxy certificate itself lives on (0 once expired), as voms-proxy-info --timeleft."""
    cred = proxy_or_none(proxy_file, silent)
    if cred is None:
        return None
    return max(0, int((cred.proxy_not_after or 0) - time.time()))


def proxy_valid(proxy_file: Any = None) -> tuple[bool, Credential | None]:
    """(whether a proxy exists and neither it nor its VOMS attributes expired, the proxy)."""
    try:
        cred = load_proxy(str(proxy_file) if proxy_file else None)
    except CredentialError:
        return False, None
    left = cred.seconds_left()
    return left is not None and left > 0, cred


def renew(tool: str, proxy_file: Any = None, vo: str | None = None, lifetime: Any = "8 days",
          rfc: bool = True, password: str | None = None, password_file: Any = None,
          silent: bool = False) -> str | None:
    """A new proxy with *tool*; its path, or None when it failed and *silent*."""
    try:
        return str(make_proxy(tool, str(proxy_file) if proxy_file else None, vo, lifetime, rfc,
                              password, str(password_file) if password_file else None).path)
    except CredentialError:
        if silent:
            return None
        raise


def common_name(identity: str | None) -> str | None:
    """The last CN of a DN (law's ``get_arcproxy_user``)."""
    found = re.findall(r"/CN=([^/]+)", identity or "")
    return found[-1] if found else None


def ensure_callbacks(fn: Callable, task: Any, args: Any, kwargs: Any, tool: str) -> tuple:
    """
    The ``(before_call, call, after_call)`` of law's ``ensure_vomsproxy`` / ``ensure_arcproxy``
    decorators: before the method runs, a missing or expired proxy stops it with a
    :class:`CredentialError` naming the file and the *tool* command that makes a new one.
    """

    def before_call() -> None:
        valid, cred = proxy_valid()
        if not valid:
            if cred is None:
                load_proxy(tool=tool)  # raises the message for a missing or unreadable proxy
            raise CredentialError(f"{getattr(task, 'task_id', task)}: the X.509 proxy "
                                  f"{cred.where()} expired; renew it with: "
                                  f"{renew_command(X509, cred.vo, tool=tool)}")

    def call(state: Any) -> Any:
        return fn(task, *args, **kwargs)

    def after_call(state: Any) -> None:
        return None

    return before_call, call, after_call
