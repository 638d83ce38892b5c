"""
law's ``wlcg`` package: :class:`WLCGFileSystem` and its targets, configured from law.cfg.

``[wlcg_fs]`` is the default section (``[target] default_wlcg_fs`` names another one); named
sections such as ``[wlcg_fs_analysis]`` fall back to ``[wlcg_fs]`` for options they do not set.
All options are described in :mod:`pipekit.target.remote.config`. The file interface is gfal2
when its bindings are importable, fsspec otherwise and always for ``s3://`` bases
(``file_interface: gfal|fsspec`` forces one)::

    import pipekit as law

    law.contrib.load("wlcg")            # as in law; importing pipekit.wlcg works as well
    target = law.wlcg.WLCGFileTarget("/results/hist.json", fs="wlcg_fs_analysis")
    target.dump({"entries": 42})        # uploaded to a temporary name, verified, renamed

Differences from law: a transient error during ``exists()`` is retried and then raised (law's
gfal interface reports the file as missing); uploads are atomic and verified by default.

The VOMS proxy helpers keep law's names and answers, but read the proxy file themselves
(:mod:`pipekit.grid`) instead of running ``voms-proxy-info`` once per question::

    law.wlcg.check_vomsproxy_validity()       # True / False
    law.wlcg.get_vomsproxy_lifetime()         # seconds left, as voms-proxy-info --timeleft
    law.wlcg.get_vomsproxy_vo()               # "cms", None without VOMS attributes
    law.wlcg.renew_vomsproxy(vo="cms", lifetime="8 days", password_file="~/.globus/pass")

``delegate_vomsproxy_glite`` raises: gLite (CREAM CEs) is retired; use ARC or HTCondor-CE. The
MyProxy helpers (``delegate_myproxy``, ``get_myproxy_info``) exist but raise
:class:`pipekit.errors.NotSupportedError`.
"""

from __future__ import annotations

import os
from typing import Any, Callable

from pipekit.contrib._unsupported import unsupported_callable
from pipekit.decorator import factory
from pipekit.errors import CredentialError, NotSupportedError
from pipekit.grid import helpers
from pipekit.grid.credentials import proxy_location
from pipekit.grid.x509 import X509FormatError, read_proxy_file
from pipekit.target.remote.base import RemoteDirectoryTarget, RemoteFileTarget, RemoteTarget
from pipekit.target.remote.config import ConfiguredFileSystem

__all__ = [
    "WLCGFileSystem", "WLCGTarget", "WLCGFileTarget", "WLCGDirectoryTarget",
    "get_userkey", "get_usercert", "get_usercert_subject", "get_vomsproxy_file",
    "get_vomsproxy_identity", "get_vomsproxy_lifetime", "get_vomsproxy_vo",
    "check_vomsproxy_validity", "renew_vomsproxy", "delegate_vomsproxy_glite", "delegate_myproxy",
    "get_myproxy_info", "get_ce_endpoint", "ensure_vomsproxy",
]


class WLCGFileSystem(ConfiguredFileSystem):
    """Grid storage (XRootD, WebDAV, SRM, ... and S3) configured from ``[wlcg_fs]``-like sections."""

    default_section = "wlcg_fs"
    default_section_option = "default_wlcg_fs"


class WLCGTarget(RemoteTarget):
    """
    A path on a :class:`WLCGFileSystem`; *fs* is an instance, a section name, or None for the
    default section.
    """

    def __init__(self, path: str, fs: Any = None, **kwargs: Any):
        if fs is None or isinstance(fs, str):
            fs = WLCGFileSystem.from_section(fs)
        super().__init__(path, fs=fs, **kwargs)

    @classmethod
    def file_class(cls) -> type:
        return WLCGFileTarget

    @classmethod
    def directory_class(cls) -> type:
        return WLCGDirectoryTarget


class WLCGFileTarget(WLCGTarget, RemoteFileTarget):
    """A file on WLCG storage."""


class WLCGDirectoryTarget(WLCGTarget, RemoteDirectoryTarget):
    """A directory on WLCG storage."""


# -- VOMS proxy helpers (law's names) -----------------------------------------------------------


def get_userkey() -> str:
    """The user key: ``$X509_USER_KEY``, else ``~/.globus/userkey.pem``."""
    return os.path.expandvars(os.path.expanduser(os.getenv("X509_USER_KEY", "~/.globus/userkey.pem")))


def get_usercert() -> str:
    """The user certificate: ``$X509_USER_CERT``, else ``~/.globus/usercert.pem``."""
    return os.path.expandvars(os.path.expanduser(os.getenv("X509_USER_CERT", "~/.globus/usercert.pem")))


def get_usercert_subject(usercert: Any = None) -> str:
    """The subject (slash form) of the user certificate *usercert* (default :func:`get_usercert`)."""
    path = str(usercert) if usercert else get_usercert()
    try:
        return read_proxy_file(path).chain[0].subject
    except FileNotFoundError:
        raise CredentialError(f"the user certificate {path} does not exist; set X509_USER_CERT "
                              "or put it at ~/.globus/usercert.pem") from None
    except (OSError, X509FormatError) as e:
        raise CredentialError(f"cannot read the user certificate {path}: {e}") from None


def get_vomsproxy_file() -> str:
    """The proxy file: ``$X509_USER_PROXY``, else ``/tmp/x509up_u<uid>``."""
    return proxy_location()[0]


def get_vomsproxy_identity(proxy_file: Any = None, silent: bool = False) -> str | None:
    """The identity (DN of the person) of the proxy; None when unusable and *silent*."""
    cred = helpers.proxy_or_none(proxy_file, silent)
    return cred.identity if cred else None


def get_vomsproxy_lifetime(proxy_file: Any = None, silent: bool = False) -> int | None:
    """Seconds the proxy lives on (0 once expired); None when unusable and *silent*."""
    return helpers.proxy_lifetime(proxy_file, silent)


def get_vomsproxy_vo(proxy_file: Any = None, silent: bool = False) -> str | None:
    """The VO of the proxy's (first) VOMS attributes; None without them or when *silent*."""
    cred = helpers.proxy_or_none(proxy_file, silent)
    return cred.vo if cred else None


def check_vomsproxy_validity(return_rfc: bool = False, proxy_file: Any = None) -> Any:
    """
    True when a proxy exists and neither it nor its VOMS attributes expired. With *return_rfc*,
    ``(valid, rfc)``: whether it is an RFC 3820 proxy as well.
    """
    valid, cred = helpers.proxy_valid(proxy_file)
    if return_rfc:
        return valid, bool(valid and cred and cred.proxy_type == "rfc3820")
    return valid


def renew_vomsproxy(proxy_file: Any = None, vo: str | None = None, rfc: bool = True,
                    lifetime: Any = "8 days", password: str | None = None,
                    password_file: Any = None, silent: bool = False) -> str | None:
    """
    Make a new proxy with ``voms-proxy-init`` (*lifetime*: hours, or e.g. "8 days"; *vo*:
    "cms" or "cms:/cms/Role=production"); the passphrase comes from *password* or the first
    line of *password_file* through stdin. Returns the proxy file (None on failure if *silent*).
    """
    return helpers.renew("voms-proxy-init", proxy_file, vo, lifetime, rfc, password,
                         password_file, silent)


def delegate_vomsproxy_glite(*args: Any, **kwargs: Any) -> str:
    """law's gLite delegation: gLite is retired, so this always raises a :class:`NotSupportedError`."""
    raise NotSupportedError("delegate_vomsproxy_glite: gLite and its CREAM computing elements "
                            "are retired (WLCG switched them off); submit to ARC "
                            "(law.contrib.load('arc'), --workflow arc, which delegates the proxy "
                            "itself) or HTCondor-CE (--workflow htcondor) instead")


_MYPROXY = ("pipekit does not drive MyProxy (no MyProxy server is available to test against); "
            "delegate with myproxy-init, or arcproxy --myproxysrv HOST --myproxycmd PUT")
delegate_myproxy = unsupported_callable("delegate_myproxy", _MYPROXY, __name__)
get_myproxy_info = unsupported_callable("get_myproxy_info", _MYPROXY, __name__)


def get_ce_endpoint(ce: str) -> str:
    """The endpoint of a computing element: ``"ce.example.org:8443/cream-pbs"`` -> ``"ce.example.org:8443"``."""
    return str(ce).split("/", 1)[0]


@factory(accept_generator=True)
def ensure_vomsproxy(fn: Callable, opts: dict, task: Any, *args: Any, **kwargs: Any) -> Any:
    """Run-method decorator: stop with a clear error unless a valid VOMS proxy exists."""
    return helpers.ensure_callbacks(fn, task, args, kwargs, "voms-proxy-init")
