"""
Grid credentials: where they are, what they say and how long they live — X.509 (VOMS) proxies
and WLCG bearer tokens — and the one check every remote workflow makes before it submits.

Discovery follows the grid conventions, in order:

- X.509 proxy: ``$X509_USER_PROXY``, else ``/tmp/x509up_u<uid>`` (what voms-proxy-init, arcproxy,
  gfal2, XRootD and HTCondor use).
- Bearer token (WLCG Bearer Token Discovery): ``$BEARER_TOKEN`` (the token itself), else the file
  ``$BEARER_TOKEN_FILE``, else ``$XDG_RUNTIME_DIR/bt_u<uid>``, else ``/tmp/bt_u<uid>``.

A proxy is read by :mod:`pipekit.grid.x509` (no grid tool runs; well under a millisecond), a
token's lifetime is its JWT ``exp`` claim (opaque tokens have no known lifetime). Batch backends
never parse credentials themselves: the remote workflow calls :func:`credentials_for_jobs` and
hands the result to the backend's delivery (``X509_USER_PROXY`` for shared file systems through
:func:`job_environment`, ``x509userproxy`` for HTCondor, delegation for ARC).
"""

from __future__ import annotations

import base64
import json
import math
import os
import shutil
import time
from dataclasses import dataclass, field
from typing import Sequence

from pipekit.errors import CredentialError, UsageError
from pipekit.grid.x509 import X509FormatError, read_proxy_file

__all__ = [
    "X509",
    "TOKEN",
    "Credential",
    "LifetimeNeed",
    "proxy_location",
    "load_proxy",
    "find_proxy",
    "token_locations",
    "find_token",
    "parse_mode",
    "check_lifetime",
    "credentials_for_jobs",
    "job_environment",
    "renew_command",
    "format_span",
    "storage_auth_failure",
    "storage_identity",
]

#: the kinds of credential pipekit knows
X509 = "x509"
TOKEN = "token"
_KIND_NAMES = {X509: "X.509 proxy", TOKEN: "bearer token"}


def format_span(seconds: float) -> str:
    """A lifetime for messages: ``"3 days 4 h"``, ``"11 h 59 min"``, ``"4 min 10 s"``, ``"0 s"``."""
    s = max(0, int(seconds))
    days, hours, minutes = s // 86400, s % 86400 // 3600, s % 3600 // 60
    if days >= 2:
        return f"{days} days" + (f" {hours} h" if hours else "")
    if s >= 3600:
        return f"{s // 3600} h" + (f" {minutes} min" if minutes else "")
    if s >= 60:
        return f"{minutes} min" + (f" {s % 60} s" if s % 60 else "")
    return f"{s} s"


def _utc(epoch: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(epoch))


@dataclass
class Credential:
    """One credential found on this machine (see the module docstring for where it looks)."""

    kind: str
    #: the file holding it; None for a token given as ``$BEARER_TOKEN``
    path: str | None
    #: where the path came from, in words ("$X509_USER_PROXY", "the default location", ...)
    source: str
    #: when it stops working (epoch seconds): the proxy chain or its VOMS attributes, whichever
    #: is first; None when unknown (opaque token)
    not_after: float | None = None
    not_before: float | None = None
    #: the person: the certificate subject of a proxy, the ``sub`` claim of a token
    identity: str | None = None
    #: the VO of a VOMS proxy (its first attribute certificate), the issuer of a token
    vo: str | None = None
    #: VOMS FQANs, or the scopes of a token
    attributes: list[str] = field(default_factory=list)
    #: the proxy chain alone (for a VOMS proxy whose attributes expire first)
    proxy_not_after: float | None = None
    #: "rfc3820", "draft" or "legacy" for proxies (see :mod:`pipekit.grid.x509`)
    proxy_type: str | None = None
    #: the token itself when it came from ``$BEARER_TOKEN`` (never printed)
    value: str | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return _KIND_NAMES[self.kind]

    def seconds_left(self, now: float | None = None) -> float | None:
        """Seconds until it expires (negative: expired), None when its lifetime is unknown."""
        if self.not_after is None:
            return None
        return self.not_after - (time.time() if now is None else now)

    def where(self) -> str:
        """``"/tmp/x509up_u0 (from $X509_USER_PROXY)"``: the file and why that one."""
        return f"{self.path or 'the environment'} (from {self.source})"

    def describe(self, now: float | None = None) -> str:
        """One line for ``--dry-run`` / ``--print-status``: what it is, whose, and how long it lives."""
        details = []
        if self.identity:
            details.append(self.identity)
        if self.vo:
            details.append(f"VO {self.vo}" if self.kind == X509 else f"issuer {self.vo}")
        left = self.seconds_left(now)
        if left is None:
            details.append("lifetime unknown")
        elif left <= 0:
            details.append(f"EXPIRED {format_span(-left)} ago")
        else:
            details.append(f"{format_span(left)} left")
        return f"{self.name} {self.where()}: {', '.join(details)}"


@dataclass
class LifetimeNeed:
    """How long the jobs need a credential, and why (for the messages)."""

    seconds: float
    #: e.g. "walltime 2 h + margin 1 h ([job] credential_margin)"
    why: str


# -- X.509 proxies -----------------------------------------------------------------------------


def proxy_location() -> tuple[str, str]:
    """``(path, source)`` of the X.509 proxy: ``$X509_USER_PROXY``, else ``/tmp/x509up_u<uid>``."""
    env = os.environ.get("X509_USER_PROXY")
    if env:
        return os.path.abspath(os.path.expanduser(env)), "$X509_USER_PROXY"
    return f"/tmp/x509up_u{os.getuid()}", "the default location; set X509_USER_PROXY for another file"


def load_proxy(path: str | None = None, source: str | None = None,
               tool: str = "voms-proxy-init") -> Credential:
    """
    The proxy at *path* (default: :func:`proxy_location`). Raises :class:`CredentialError` when
    it does not exist, cannot be read or is not a proxy file (no certificate or no private key).
    """
    if path is None:
        path, where = proxy_location()
    else:
        path, where = os.path.abspath(os.path.expanduser(str(path))), source or "the path given"
    fix = f"create one with: {renew_command(X509, tool=tool)}"
    origin = f"from {where}" if where.startswith("$") else where
    try:
        proxy = read_proxy_file(path)
    except FileNotFoundError:
        raise CredentialError(f"no X.509 proxy: {path} does not exist ({origin}); {fix}") from None
    except OSError as e:
        raise CredentialError(f"cannot read the X.509 proxy {path} ({origin}): {e.strerror}; "
                              "it must be readable by you (chmod 600)") from None
    except X509FormatError as e:
        raise CredentialError(f"{path} ({origin}) is not an X.509 proxy file: {e}; {fix}") from None
    if not proxy.has_key:
        raise CredentialError(f"{path} ({origin}) holds a certificate but no private key, so it is "
                              f"not a proxy (a usercert.pem?); {fix}")
    first_ac = proxy.voms[0] if proxy.voms else None
    not_after = proxy.not_after
    if first_ac is not None:
        not_after = min(not_after, first_ac.not_after)
    return Credential(
        kind=X509, path=path, source=where.split(";")[0], not_after=not_after,
        not_before=proxy.not_before, identity=proxy.identity,
        vo=first_ac.vo if first_ac else None, attributes=list(first_ac.fqans) if first_ac else [],
        proxy_not_after=proxy.not_after, proxy_type=proxy.proxy.proxy_type,
    )


def find_proxy(tool: str = "voms-proxy-init") -> Credential | None:
    """The proxy of :func:`proxy_location` when that file exists (None otherwise)."""
    path, source = proxy_location()
    if not os.path.exists(path):
        return None
    return load_proxy(path, source, tool)


# -- bearer tokens -----------------------------------------------------------------------------


def token_locations() -> list[tuple[str, str]]:
    """``(path, source)`` of the token files WLCG token discovery looks at, in order."""
    uid = os.getuid()
    out = []
    if os.environ.get("BEARER_TOKEN_FILE"):
        out.append((os.path.abspath(os.path.expanduser(os.environ["BEARER_TOKEN_FILE"])),
                    "$BEARER_TOKEN_FILE"))
    if os.environ.get("XDG_RUNTIME_DIR"):
        out.append((os.path.join(os.environ["XDG_RUNTIME_DIR"], f"bt_u{uid}"),
                    f"$XDG_RUNTIME_DIR/bt_u{uid}"))
    out.append((f"/tmp/bt_u{uid}", "the default location"))
    return out


def _token_credential(value: str, path: str | None, source: str) -> Credential:
    claims = _jwt_claims(value)
    exp, nbf = claims.get("exp"), claims.get("nbf")
    scopes = str(claims.get("scope", "")).split()
    return Credential(
        kind=TOKEN, path=path, source=source,
        not_after=float(exp) if isinstance(exp, (int, float)) else None,
        not_before=float(nbf) if isinstance(nbf, (int, float)) else None,
        identity=str(claims["sub"]) if "sub" in claims else None,
        vo=str(claims["iss"]) if "iss" in claims else None, attributes=scopes,
        value=value if path is None else None,
    )


def _jwt_claims(token: str) -> dict:
    """The payload of a JWT (unverified: only to read its lifetime); {} for opaque tokens."""
    parts = token.strip().split(".")
    if len(parts) != 3:
        return {}
    try:
        raw = base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4))
        claims = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return {}
    return claims if isinstance(claims, dict) else {}


def find_token() -> Credential | None:
    """The first bearer token WLCG token discovery finds, or None."""
    value = os.environ.get("BEARER_TOKEN", "").strip()
    if value:
        return _token_credential(value, None, "$BEARER_TOKEN")
    for path, source in token_locations():
        try:
            with open(path, encoding="utf-8") as f:
                value = f.read().strip()
        except FileNotFoundError:
            if source == "$BEARER_TOKEN_FILE":
                raise CredentialError(f"no bearer token: {path} does not exist (from "
                                      f"$BEARER_TOKEN_FILE); {renew_command(TOKEN)}") from None
            continue
        except OSError as e:
            raise CredentialError(f"cannot read the bearer token {path} (from {source}): "
                                  f"{e.strerror}") from None
        if not value:
            raise CredentialError(f"the bearer token file {path} (from {source}) is empty; "
                                  f"{renew_command(TOKEN)}")
        return _token_credential(value, path, source)
    return None


# -- what jobs need ----------------------------------------------------------------------------


def renew_command(kind: str, vo: str | None = None, seconds: float | None = None,
                  tool: str = "voms-proxy-init") -> str:
    """The command that makes a new credential lasting *seconds* (at least a day)."""
    if kind == TOKEN:
        return ("get a new token, e.g. with: oidc-token ACCOUNT > \"$BEARER_TOKEN_FILE\" "
                "(or htgettoken)")
    hours = max(24, math.ceil((seconds or 0) / 3600))
    if tool == "arcproxy":
        voms = f" --voms {vo}" if vo else ""
        return f"arcproxy{voms} --constraint validityPeriod={hours}H"
    voms = f" --voms {vo}" if vo else ""
    return f"voms-proxy-init{voms} --rfc --valid {hours}:00"


def parse_mode(raw: str | None, default: str = "auto", where: str = "[job] credentials") -> tuple[str, ...]:
    """
    ``credentials`` of law.cfg as the kinds the jobs require: ``("auto",)``, ``()`` for
    ``none``, or ``("x509",)``, ``("token",)``, ``("x509", "token")``.
    """
    text = (raw if raw not in (None, "") else default).strip().lower()
    if text in ("auto", ""):
        return ("auto",)
    if text in ("none", "no", "false", "off"):
        return ()
    kinds = tuple(dict.fromkeys(k.strip() for k in text.replace("+", ",").split(",") if k.strip()))
    bad = [k for k in kinds if k not in (X509, TOKEN)]
    if bad:
        raise UsageError(f"{where} = {raw!r}: unknown credential kind {bad[0]!r}; use auto, none, "
                         "x509, token or x509,token")
    return kinds


def check_lifetime(cred: Credential, need: LifetimeNeed, tool: str = "voms-proxy-init",
                   now: float | None = None) -> None:
    """Raise :class:`CredentialError` (one line: file, time left, how to renew) unless *cred* lasts *need*."""
    now = time.time() if now is None else now
    left = cred.seconds_left(now)
    renew = renew_command(cred.kind, cred.vo, need.seconds, tool)
    verb = "renew it with: " if cred.kind == X509 else ""
    what = f"the {cred.name} {cred.where()}"
    if cred.kind == X509 and cred.proxy_not_after and cred.not_after is not None \
            and cred.not_after < cred.proxy_not_after:
        what = f"the VOMS attributes (VO {cred.vo}) of the X.509 proxy {cred.where()}"
    if cred.not_before is not None and cred.not_before > now + 300:
        raise CredentialError(f"{what} is not valid before {_utc(cred.not_before)} (is this "
                              "machine's clock right?)")
    if left is None:
        return  # an opaque token: nothing to check, the service will tell
    if left <= 0:
        raise CredentialError(f"{what} expired {format_span(-left)} ago ({_utc(now + left)}); the "
                              f"jobs need {format_span(need.seconds)} ({need.why}); {verb}{renew}")
    if left < need.seconds:
        raise CredentialError(f"{what} has only {format_span(left)} left, but the jobs need "
                              f"{format_span(need.seconds)} ({need.why}); {verb}{renew}")


def credentials_for_jobs(kinds: Sequence[str], need: LifetimeNeed, tool: str = "voms-proxy-init",
                         now: float | None = None) -> tuple[list[Credential], list[str]]:
    """
    The credentials to give the jobs, and notes for the user. *kinds* as :func:`parse_mode`
    returns them: required kinds must exist and last *need* (else :class:`CredentialError`);
    with ``("auto",)`` whatever exists and lasts is used, and what is expired or too short is
    skipped with a note (jobs that do not need grid access must not be stopped by a stale proxy).
    """
    auto = tuple(kinds) == ("auto",)
    wanted = (X509, TOKEN) if auto else tuple(kinds)
    found: list[Credential] = []
    notes: list[str] = []
    for kind in wanted:
        try:
            cred = find_proxy(tool) if kind == X509 else find_token()
            if cred is None and not auto:
                if kind == X509:
                    load_proxy(tool=tool)  # raises the "does not exist" message
                raise CredentialError("no bearer token: none of $BEARER_TOKEN, "
                                      + ", ".join(src for _, src in token_locations())
                                      + f" is set or exists; {renew_command(TOKEN)}")
            if cred is None:
                continue
            check_lifetime(cred, need, tool, now)
        except CredentialError as e:
            if not auto:
                raise
            notes.append(f"not forwarding to the jobs: {e} (set credentials = {kind} in [job] "
                         "of law.cfg when the jobs need it: then this stops the submission)")
            continue
        found.append(cred)
    return found, notes


def job_environment(credentials: Sequence[Credential], directory: str,
                    write: bool = True) -> dict[str, str]:
    """
    For batch systems whose jobs see the submitting machine's files (Slurm, Grid Engine, LSF):
    copy each credential into *directory* (mode 0600: jobs keep a credential that was checked to
    last, whatever happens to the original, and a proxy in the node-local ``/tmp`` reaches
    them) and return the variables a job exports: ``X509_USER_PROXY`` (plus ``X509_CERT_DIR``
    and ``X509_VOMS_DIR`` when set here) and ``BEARER_TOKEN_FILE``. Without *write*, only the
    variables (for ``--dry-run``).
    """
    env: dict[str, str] = {}
    for cred in credentials:
        name = "x509up" if cred.kind == X509 else "bearer_token"
        dst = os.path.join(directory, name)
        if write:
            os.makedirs(directory, exist_ok=True)
            _copy_private(cred, dst)
        if cred.kind == X509:
            env["X509_USER_PROXY"] = dst
            for var in ("X509_CERT_DIR", "X509_VOMS_DIR"):
                if os.environ.get(var):
                    env[var] = os.environ[var]
        else:
            env["BEARER_TOKEN_FILE"] = dst
    return env


def _copy_private(cred: Credential, dst: str) -> None:
    tmp = f"{dst}.tmp{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            if cred.path is None:
                out.write((cred.value or "").encode() + b"\n")
            else:
                with open(cred.path, "rb") as src:
                    shutil.copyfileobj(src, out)
        os.replace(tmp, dst)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


# -- remote storage ----------------------------------------------------------------------------


def storage_auth_failure(op: str, uri: str, detail: str) -> str:
    """
    The message for storage that refused to authenticate us (XRootD GSI, WebDAV with X.509):
    whether there is no proxy, an expired one, or a valid one the server does not accept.
    """
    head = f"{op} of {uri}: authentication failed"
    try:
        cred = load_proxy()
    except CredentialError as e:
        return f"{head}: {e}"
    left = cred.seconds_left() or 0.0
    if left <= 0:
        return (f"{head}: the X.509 proxy {cred.where()} expired {format_span(-left)} ago "
                f"({_utc(time.time() + left)}); renew it with: {renew_command(X509, cred.vo)}")
    return (f"{head} although the X.509 proxy {cred.where()} is valid ({cred.identity}, "
            f"{format_span(left)} left): the server does not accept it (does it trust your CA "
            f"and VO?); the server said: {detail}")


def storage_identity() -> str:
    """``"as /DC=.../CN=Jane (VO cms, proxy /tmp/x509up_u1)"``: who a permission error hit."""
    try:
        cred = load_proxy()
    except CredentialError:
        return "without an X.509 proxy"
    return f"as {cred.identity} (VO {cred.vo or 'none: no VOMS attributes'}, proxy {cred.path})"
