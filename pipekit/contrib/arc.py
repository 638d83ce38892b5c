"""
law's ``arc`` package: the ARC workflow type (``law.arc.ARCWorkflow``, ``ARCJobManager``,
``ARCJobFileFactory``; implemented in :mod:`pipekit.batch.arc`) and the arcproxy helpers,
which keep law's names but read the proxy file themselves (:mod:`pipekit.grid`)::

    import pipekit as law

    law.contrib.load("arc")
    law.arc.check_arcproxy_validity()           # True / False
    law.arc.get_arcproxy_lifetime()             # seconds left
    law.arc.renew_arcproxy(lifetime="2 days", vo="cms", password_file="~/.globus/pass")

    class Analysis(law.arc.ARCWorkflow, law.LocalWorkflow):
        ...                                     # --workflow arc --arc-ce https://ce.example/arex
"""

from __future__ import annotations

from typing import Any, Callable

from pipekit.batch.arc import (
    ARCJobConfig,
    ARCJobFileFactory,
    ARCJobManager,
    ARCWorkflow,
    ARCWorkflowProxy,
    get_arc_version,
)
from pipekit.decorator import factory
from pipekit.grid import helpers
from pipekit.grid.credentials import proxy_location

__all__ = ["ARCWorkflow", "ARCWorkflowProxy", "ARCJobManager", "ARCJobFileFactory", "ARCJobConfig",
           "get_arc_version", "get_arcproxy_file", "get_arcproxy_user", "get_arcproxy_lifetime",
           "get_arcproxy_vo", "check_arcproxy_validity", "renew_arcproxy", "ensure_arcproxy"]


def get_arcproxy_file() -> str:
    """The proxy file arcproxy uses: ``$X509_USER_PROXY``, else ``/tmp/x509up_u<uid>``."""
    return proxy_location()[0]


def get_arcproxy_user(proxy_file: Any = None) -> str | None:
    """The user's name: the last CN of the proxy's identity (``"Jane Doe"``)."""
    return helpers.common_name(helpers.proxy_or_none(proxy_file).identity)


def get_arcproxy_lifetime(proxy_file: Any = None) -> int | None:
    """Seconds the proxy lives on (0 once expired)."""
    return helpers.proxy_lifetime(proxy_file)


def get_arcproxy_vo(proxy_file: Any = None) -> str | None:
    """The VO of the proxy's VOMS attributes (None without them)."""
    return helpers.proxy_or_none(proxy_file).vo


def check_arcproxy_validity(log: bool = False, proxy_file: Any = None) -> bool:
    """True when a proxy exists and neither it nor its VOMS attributes expired."""
    valid, cred = helpers.proxy_valid(proxy_file)
    if log and not valid:
        import logging

        logging.getLogger("pipekit.arc").warning(
            "no valid ARC proxy at %s", cred.where() if cred else get_arcproxy_file())
    return valid


def renew_arcproxy(password: str | None = "", lifetime: Any = "8 days", proxy_file: Any = None,
                   vo: str | None = None, password_file: Any = None) -> str:
    """
    Make a new proxy with ``arcproxy`` (law's signature, plus *vo* for VOMS attributes and
    *password_file*); the passphrase goes through stdin. Returns the proxy file.
    """
    return str(helpers.renew("arcproxy", proxy_file, vo, lifetime, True, password or None,
                             password_file))


@factory(accept_generator=True)
def ensure_arcproxy(fn: Callable, opts: dict, task: Any, *args: Any, **kwargs: Any) -> Any:
    """Run-method decorator: stop with a clear error unless a valid proxy exists."""
    return helpers.ensure_callbacks(fn, task, args, kwargs, "arcproxy")
