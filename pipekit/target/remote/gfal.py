"""
:class:`GFALFileInterface`: remote storage through the gfal2 Python bindings.

gfal2 speaks XRootD (``root://``), WebDAV/HTTP (``dav://``, ``davs://``, ``https://``), SRM,
GridFTP and more, depending on the installed plugins. The bindings are not on PyPI: on Debian/Ubuntu
they come from the ``python3-gfal2`` package (built for the system Python), on EL from
``python3-gfal2``/``gfal2-python3``. A virtual environment built on the same Python version can
import them through a one-line ``.pth`` file (``tests/infra/gfal2.sh shim VENV`` writes it)::

    echo /dir/holding/gfal2.so > "$(python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/gfal2_system.pth"

XRootD client defaults are changed before gfal2 is loaded, because pipekit retries by itself:
``XRD_CONNECTIONRETRY=1`` (XrdCl would otherwise retry a refused connection for minutes) and
``XRD_STREAMERRORWINDOW=0`` (otherwise, after one failed connection, every request to that
server fails at once for 30 minutes, even after the server is back). Values already set in the
environment win.

**Timeouts.** A request that gets no answer within ``request_timeout`` (default 120 s) fails as
a transient error, is retried, and is finally raised naming the URL: on XRootD through XrdCl's
``XRD_REQUESTTIMEOUT`` (default 1800 s), which bounds every request, a stat as well as each
chunk of a transfer (process-wide: the first file system that makes a gfal2 context in a
process sets it; checked every ``XRD_TIMEOUTRESOLUTION=1`` s instead of 15); over HTTP/WebDAV
through the plugin's ``OPERATION_TIMEOUT`` (default 8000 s) and ``CHECKSUM_TIMEOUT`` (1800 s),
which limit a whole request, so they are ``request_timeout`` for namespace operations and
``transfer_timeout`` for uploads, downloads and checksums (in a context of their own: a kept-alive
connection keeps the timeout it was opened with). :mod:`~pipekit.target.remote.watchdog` logs a request while it waits.

**Forks and hard timeouts.** LocalWorkflow forks its branch workers, luigi forks task processes,
and the parent has usually listed the outputs before. A process that forks while one of XrdCl's
threads holds a lock (glibc's name resolver, XrdCl's plug-in manager) hands its child a lock that
is never released: the child's first request hangs forever and no timeout fires. So XRootD
requests run in a helper process (``isolation="auto"``, see
:mod:`~pipekit.target.remote.isolation`): a fresh process per process and thread, which no one
forks; the helper is also stopped when a request outlives ``request_timeout``, a hard bound.
With ``isolation="never"`` requests run in this process as before: gfal2 contexts are per process
(a child makes its own and never frees the parent's), XrdCl restarts its threads in a forked
child (``XRD_RUNFORKHANDLER=1``, set as a default), and a child's request with
``XRD_RUNFORKHANDLER=0`` in the environment is refused with an error naming the variable.
"""

from __future__ import annotations

import errno
import functools
import os
import stat as stat_module
from typing import Any, Callable, TypeVar

from pipekit.errors import PipekitError, RemoteAuthError, RemoteError, TransientRemoteError
from pipekit.grid.credentials import storage_auth_failure, storage_identity
from pipekit.target.remote.interface import (
    ListEntry,
    RemoteFileInterface,
    RemoteStat,
    classify_errno,
)
from pipekit.target.remote.watchdog import heartbeat, read_offset, set_probe

__all__ = ["GFALFileInterface", "GFAL2NotFoundError", "import_gfal2", "XRD_ENV_DEFAULTS"]

#: XrdCl settings pipekit needs for its own retries and timeouts to work (see the module
#: docstring); XRD_REQUESTTIMEOUT comes from the first file system's request_timeout
XRD_ENV_DEFAULTS = {
    "XRD_CONNECTIONRETRY": "1",
    "XRD_CONNECTIONWINDOW": "10",
    "XRD_STREAMERRORWINDOW": "0",
    "XRD_TIMEOUTRESOLUTION": "1",
    "XRD_RUNFORKHANDLER": "1",
}

#: the process that first made a gfal2 context for XRootD (XrdCl starts its threads there); a
#: child forked from it inherits this value
_xrootd_pid: int | None = None

#: contexts of a parent process seen in a forked child: kept, never freed there (freeing one runs
#: plugin code on state that belongs to the parent's threads)
_inherited_contexts: list[Any] = []

#: gfal2 options that limit one request (HTTP: a whole request, download included)
_TIMEOUT_OPTIONS = (
    ("HTTP PLUGIN", "OPERATION_TIMEOUT"),
    ("CORE", "CHECKSUM_TIMEOUT"),
    ("CORE", "NAMESPACE_TIMEOUT"),
)

#: schemes whose transfers go through the file API by default (see GFALFileInterface)
_XROOTD_SCHEMES = ("root://", "roots://", "xroot://", "xroots://")
#: schemes whose servers may authenticate with an X.509 proxy (GSI, or TLS client certificates)
_X509_SCHEMES = _XROOTD_SCHEMES + ("davs://", "https://", "gsiftp://", "srm://")
_CHUNK = 8 << 20

#: errno values meaning "the server does not offer this" (chmod, checksum, third-party copy)
_UNSUPPORTED = {errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EPROTONOSUPPORT}

#: where requests run: "auto" (a helper process for XRootD), "always" (a helper for every
#: scheme), "never" (in this process)
ISOLATION_MODES = ("auto", "always", "never")

F = TypeVar("F", bound=Callable[..., Any])


def _isolated(op: str, uri_arg: int = 0) -> Callable[[F], F]:
    """
    Mark a primitive as one that runs in the interface's helper process when it is isolated
    (operation *op*, the URI in argument *uri_arg*); in the helper itself it runs directly.
    """

    def wrap(method: F) -> F:
        @functools.wraps(method)
        def run(self: GFALFileInterface, *args: Any) -> Any:
            if not self.isolated:
                return method(self, *args)
            return self._run_in_helper(method.__name__, args, op, args[uri_arg])

        return run  # type: ignore[return-value]

    return wrap


def import_gfal2() -> Any:
    """The gfal2 module, with pipekit's XrdCl defaults in place; a clear error when missing."""
    for key, value in XRD_ENV_DEFAULTS.items():
        os.environ.setdefault(key, value)
    try:
        import gfal2
    except ImportError:
        raise GFAL2NotFoundError(
            "the gfal2 Python bindings are needed for root://, dav:// and other grid storage but "
            "cannot be imported; they are not on PyPI: install the system package python3-gfal2 "
            "and make it importable from your venv (see docs/remote-targets.md), or set "
            "file_interface: fsspec for this file system"
        ) from None
    return gfal2


class GFAL2NotFoundError(PipekitError, ImportError):
    """The gfal2 bindings cannot be imported (they come from the system, not from PyPI)."""


class GFALFileInterface(RemoteFileInterface):
    """
    Remote operations through gfal2. Options (also from law.cfg, prefixed ``gfal_``):
    *transfer_timeout* (s), *transfer_nbstreams*, *transfer_mode*, *gfal_options*
    (``{"integer": [(group, key, value)], "string": [...], "bool": [...]}``, set on every
    context) and *checksum* (``"adler32"`` or None: algorithm asked from the server to verify
    copies).

    *transfer_mode* ``"auto"`` streams XRootD uploads and downloads through gfal2's file API
    and uses gfal2's filecopy for everything else; ``"stream"`` / ``"copy"`` force one. The file
    API is fork-safe: after a process has used filecopy on root://, a forked child's filecopy
    hangs in XrdCl's copy job (LocalWorkflow forks its workers, analyses use multiprocessing).
    It is also twice as fast for small files; filecopy moves big files about 1.5x faster.

    *isolation* ``"auto"`` runs the requests of XRootD bases in a helper process (fork-safe,
    ``request_timeout`` a hard bound; see the module docstring), ``"always"`` does so for every
    scheme, ``"never"`` runs them in this process.
    """

    name = "gfal"

    enforces_request_timeout = True
    #: what the helper process may learn about the server and hands back (see isolation.py)
    synced_attributes = ("checksum_algorithm", "_no_tpc")

    def __init__(
        self,
        base: Any,
        bases: dict | None = None,
        transfer_timeout: float = 3600,
        transfer_nbstreams: int = 1,
        transfer_mode: str = "auto",
        gfal_options: dict | None = None,
        checksum: str | None = "adler32",
        isolation: str = "auto",
        **kwargs: Any,
    ):
        super().__init__(base, bases, **kwargs)
        if isolation not in ISOLATION_MODES:
            raise ValueError(f"isolation must be auto, always or never, got {isolation!r}")
        self.isolation = isolation
        self._is_helper = False
        self.transfer_timeout = int(transfer_timeout)
        self.transfer_nbstreams = int(transfer_nbstreams)
        if transfer_mode not in ("auto", "stream", "copy"):
            raise ValueError(f"transfer_mode must be auto, stream or copy, got {transfer_mode!r}")
        self.transfer_mode = transfer_mode
        self.gfal_options = gfal_options or {}
        self.checksum_algorithm = checksum or None
        self._no_tpc = False

    # -- where requests run ---------------------------------------------------------------------

    @property
    def isolated(self) -> bool:
        """Whether this process sends its requests to a helper process (see the module docstring)."""
        if self._is_helper or self.isolation == "never":
            return False
        if self.isolation == "always":
            return True
        return any(b.startswith(_XROOTD_SCHEMES) for bs in [self.base, *self.bases.values()]
                   for b in bs)

    def become_helper(self) -> None:
        """Run requests in this process from now on: it is the helper (isolation.py calls it)."""
        self._is_helper = True

    def hard_limit(self, op: str) -> tuple[str, float]:
        """The option and seconds after which a request of *op* without answer or progress is
        ended in the helper: its request timeout; a third-party copy moves a whole file silently."""
        if op == "copy":
            return "gfal_transfer_timeout", float(self.transfer_timeout)
        return self.timeout_for(op)

    def _run_in_helper(self, method: str, args: tuple, op: str, uri: str) -> Any:
        from pipekit.target.remote.isolation import RequestHelper

        helper = getattr(self._local, "helper", None)
        if helper is None or helper.pid != os.getpid():
            helper = self._local.helper = RequestHelper(self)
        if op in ("upload", "download") and not self.streams(uri):
            # filecopy reports no progress: judge it by the local file, as in-process
            local = os.path.abspath(args[0] if op == "upload" else args[1])
            if op == "upload":
                set_probe(lambda: read_offset(local, pid=helper.helper_pid))
            else:
                set_probe(lambda: os.path.getsize(local))
        name, limit = self.hard_limit(op)
        return helper.run(method, args, op, uri, limit, name)

    # -- gfal2 contexts -------------------------------------------------------------------------

    def context(self, data: bool = False) -> Any:
        """
        The gfal2 context of this thread in this process (contexts do not survive a fork): for
        namespace operations, limited by ``request_timeout``, or with *data* for transfers and
        checksums, limited by ``transfer_timeout``.
        """
        key = "data" if data else "ns"
        ctx = getattr(self._local, key, None)
        if ctx is None or getattr(self._local, key + "_pid", None) != os.getpid():
            ctx = self._new_context(ctx, self.transfer_timeout if data else self.request_timeout)
            setattr(self._local, key, ctx)
            setattr(self._local, key + "_pid", os.getpid())
        return ctx

    def _new_context(self, inherited: Any, timeout: float) -> Any:
        if inherited is not None:
            _inherited_contexts.append(inherited)
        self._check_fork_handler()
        gfal2 = import_gfal2()
        # read by XrdCl when the first context of the process starts it; bounds every request
        # (a stat, one chunk of a transfer, a checksum)
        os.environ.setdefault("XRD_REQUESTTIMEOUT", str(max(1, round(self.request_timeout))))
        ctx = gfal2.creat_context()
        # HTTP (davix) keeps connections open and a reused connection keeps the timeout of the
        # request that opened it: one limit per context, and separate contexts for namespace
        # operations and for data, so that a stat never inherits a transfer's hour
        seconds = max(1, round(timeout))
        for group, key in _TIMEOUT_OPTIONS:
            ctx.set_opt_integer(group, key, seconds)
        setters = {
            "integer": ctx.set_opt_integer,
            "string": ctx.set_opt_string,
            "bool": ctx.set_opt_boolean,
            "boolean": ctx.set_opt_boolean,
            "string_list": ctx.set_opt_string_list,
        }
        for kind, entries in self.gfal_options.items():  # the user's options win
            for group, key, value in entries:
                setters[kind](group, key, value)
        return ctx

    def timeout_for(self, op: str) -> tuple[str, float]:
        """Over HTTP/WebDAV a transfer (or checksum) is one request: transfer_timeout limits it."""
        if op in ("upload", "download", "copy", "checksum") and not self.base[0].startswith(
            _XROOTD_SCHEMES
        ):
            return "gfal_transfer_timeout", float(self.transfer_timeout)
        return super().timeout_for(op)

    def _check_fork_handler(self) -> None:
        """Refuse XRootD in a forked child when XrdCl would hang there (see the module docstring)."""
        global _xrootd_pid
        if not any(
            b.startswith(_XROOTD_SCHEMES) for bs in [self.base, *self.bases.values()] for b in bs
        ):
            return
        if _xrootd_pid is None:
            _xrootd_pid = os.getpid()
        elif _xrootd_pid != os.getpid() and os.environ.get("XRD_RUNFORKHANDLER", "").strip() == "0":
            raise RemoteError(
                f"XRootD cannot be used in this process (pid {os.getpid()}): it was forked "
                f"after its parent (pid {_xrootd_pid}) used XRootD, and XRD_RUNFORKHANDLER=0 in "
                f"the environment stops XrdCl from restarting its threads in a fork, so every "
                f"request here would hang forever. Unset XRD_RUNFORKHANDLER (or set it to 1), or "
                f"run without --workers"
            )

    def _transfer_params(self, overwrite: bool = True) -> Any:
        params = self.context(data=True).transfer_parameters()
        params.timeout = self.transfer_timeout
        params.nbstreams = self.transfer_nbstreams
        params.overwrite = overwrite
        params.create_parent = False  # pipekit creates directories itself, once
        params.strict_copy = (
            True  # no extra checksum/stat round trips inside gfal2: pipekit verifies
        )
        return params

    # -- errors ---------------------------------------------------------------------------------

    def classify(self, exc: BaseException, op: str, uri: str) -> Exception:
        code = getattr(exc, "code", None)
        message = str(getattr(exc, "message", None) or exc).strip()
        if uri.startswith(_X509_SCHEMES):
            # XrdCl reports a failed GSI handshake (no proxy, an expired one) as EBADE: say
            # which, and do not retry it (it would only fail again)
            if code == errno.EBADE or "auth failed" in message.lower():
                return RemoteAuthError(storage_auth_failure(op, uri, message))
            if code in (errno.EACCES, errno.EPERM):
                return RemoteError(f"{op} of {uri} failed: {message} (errno {code}), "
                                   f"{storage_identity()}")
        if isinstance(code, int):
            return classify_errno(code, f"{message} (errno {code})", op, uri)
        return super().classify(exc, op, uri)

    @staticmethod
    def _code(exc: BaseException) -> int | None:
        code = getattr(exc, "code", None)
        return code if isinstance(code, int) else None

    # -- primitives -----------------------------------------------------------------------------

    @_isolated("stat")
    def _do_stat(self, uri: str) -> RemoteStat:
        st = self.context().stat(uri)
        return RemoteStat(
            st_size=int(st.st_size), st_mtime=float(st.st_mtime), st_mode=int(st.st_mode)
        )

    @_isolated("listdir")
    def _do_listdir(self, uri: str) -> list[ListEntry]:
        # opendir + readpp: names with their stat in one listing request (XRootD dirlist with
        # stat, WebDAV PROPFIND depth 1)
        d = self.context().opendir(uri)
        entries = []
        while True:
            item = d.readpp()
            if not item or item[0] is None:
                break
            dirent, st = item
            if dirent.d_name in (".", ".."):
                continue
            isdir = stat_module.S_ISDIR(st.st_mode) if st is not None else None
            entries.append(
                ListEntry(dirent.d_name, isdir, int(st.st_size) if st is not None else None,
                          float(st.st_mtime) if st is not None and st.st_mtime else None)
            )
        return entries

    @_isolated("listdir")
    def _do_listdir_names(self, uri: str) -> list[str]:
        # a plain listing without stat: a third of the time of readpp for 1000 entries on XRootD
        return [n for n in self.context().listdir(uri) if n not in (".", "..")]

    @_isolated("mkdir")
    def _do_mkdir(self, uri: str, perm: int | None, recursive: bool) -> None:
        ctx = self.context()
        mode = 0o755 if perm is None else perm
        if recursive:
            ctx.mkdir_rec(uri, mode)
        else:
            ctx.mkdir(uri, mode)

    @_isolated("unlink")
    def _do_unlink(self, uri: str) -> None:
        self.context().unlink(uri)

    @_isolated("rmdir")
    def _do_rmdir(self, uri: str) -> None:
        self.context().rmdir(uri)

    @_isolated("rename")
    def _do_rename(self, src_uri: str, dst_uri: str) -> None:
        self.context().rename(src_uri, dst_uri)

    @_isolated("chmod")
    def _do_chmod(self, uri: str, perm: int) -> bool:
        gfal2 = import_gfal2()
        try:
            self.context().chmod(uri, perm)
        except gfal2.GError as e:
            if self._code(e) in _UNSUPPORTED or "not supported" in str(e).lower():
                return False
            raise
        return True

    def streams(self, uri: str) -> bool:
        """Whether transfers to/from *uri* go through gfal2's file API instead of filecopy."""
        if self.transfer_mode != "auto":
            return self.transfer_mode == "stream"
        return uri.startswith(_XROOTD_SCHEMES)

    @_isolated("upload", uri_arg=1)
    def _do_upload(self, local_path: str, uri: str) -> None:
        if not self.streams(uri):
            local = "file://" + os.path.abspath(local_path)
            set_probe(lambda: read_offset(os.path.abspath(local_path)))  # gfal2 reports none
            self.context(data=True).filecopy(self._transfer_params(), local, uri)
            return
        remote = self.context(data=True).open(uri, "w")
        try:
            with open(local_path, "rb") as src:
                while True:
                    chunk = src.read(_CHUNK)
                    if not chunk:
                        break
                    remote.write(chunk)
                    heartbeat()
        finally:
            del remote  # closes it; a failed close shows up in the verification that follows

    @_isolated("download")
    def _do_download(self, uri: str, local_path: str) -> None:
        if not self.streams(uri):
            local = "file://" + os.path.abspath(local_path)
            set_probe(lambda: os.path.getsize(local_path))  # gfal2 reports no progress
            self.context(data=True).filecopy(self._transfer_params(), uri, local)
            return
        remote = self.context(data=True).open(uri, "r")
        try:
            with open(local_path, "wb") as dst:
                while True:
                    chunk = remote.read_bytes(_CHUNK)
                    if not chunk:
                        break
                    dst.write(chunk)
                    heartbeat()
        finally:
            del remote

    @_isolated("copy")
    def _do_copy(self, src_uri: str, dst_uri: str) -> bool:
        if self._no_tpc:
            return False
        gfal2 = import_gfal2()
        try:
            self.context(data=True).filecopy(self._transfer_params(), src_uri, dst_uri)
        except gfal2.GError as e:
            # XRootD without third-party copy ("tpc not supported"), WebDAV servers that cannot
            # pull (HTTP-TPC): the caller relays through the local disk from now on. The source
            # was checked to exist before, so only a transient error is worth raising.
            if isinstance(self.classify(e, "copy", src_uri), TransientRemoteError):
                raise
            self._no_tpc = True
            return False
        return True

    @_isolated("checksum")
    def _do_checksum(self, uri: str) -> str | None:
        gfal2 = import_gfal2()
        try:
            # the server reads the whole file: a data operation, with the transfer timeout
            ctx = self.context(data=True)
            return str(ctx.checksum(uri, self.checksum_algorithm)).strip().lower()
        except gfal2.GError as e:
            if self._code(e) in _UNSUPPORTED:
                self.checksum_algorithm = (
                    None  # this server offers none: verify by size, ask no more
                )
                return None
            raise
