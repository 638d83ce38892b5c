"""
The file-interface base: how a remote file system talks to one kind of storage server.

A :class:`RemoteFileInterface` turns a path (``/store/a.json``) into a URI on one of its base
URLs and runs one primitive operation there (stat, list, upload, rename, ...). This module owns
what every backend shares:

- **bases**: one or several base URLs (``root://door1//store``, ``root://door2//store``), and
  per-operation bases (``base_stat``, ``base_filecopy``, ...). Each call starts on the next base
  in turn (round-robin; or a random one with ``random_base``) and fails over to the following
  bases when it is retried.
- **retries with backoff**: an operation that fails with a :class:`TransientRemoteError`
  (connection refused, reset, timeout, server error) is retried ``retries`` times, waiting
  ``retry_delay`` seconds, doubled after every attempt. When the attempts are used up the error
  is raised with the URI, the number of attempts and the fix; it is never turned into "missing".
- **error classification**: backends map their errors with :meth:`RemoteFileInterface.classify`
  to :class:`TargetMissingError`, :class:`TargetExistsError`, :class:`RemoteError` (permanent)
  or :class:`TransientRemoteError` (retried).
- **request timeouts**: a request that gets no answer within ``request_timeout`` seconds fails
  (backends pass the timeout to their client library) and is retried like any transient error;
  one that has had no answer for ``stall_warning`` seconds is logged while it waits
  (:mod:`pipekit.target.remote.watchdog`), so a stuck server is never a silent hang.
- **operation counts**: :attr:`RemoteFileInterface.op_counts` counts the requests sent per
  operation, so a user (or a test) can see that a collection was checked with one listing.

Backends: :mod:`pipekit.target.remote.gfal` (gfal2) and :mod:`pipekit.target.remote.fsspec`.
"""

from __future__ import annotations

import errno
import itertools
import logging
import random
import stat as stat_module
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence, TypeVar

from pipekit.errors import RemoteError, TargetExistsError, TargetMissingError, TransientRemoteError
from pipekit.target.remote.watchdog import request_watch

__all__ = [
    "RemoteFileInterface",
    "RemoteStat",
    "ListEntry",
    "join_uri",
    "split_scheme",
    "PERMANENT_ERRNOS",
]

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: errno values that mean "this will fail again": not retried. Everything else a backend reports
#: (connection refused/reset, timeouts, EIO from a server error, ...) is treated as transient.
PERMANENT_ERRNOS = frozenset(
    {
        errno.EACCES,
        errno.EPERM,
        errno.EISDIR,
        errno.ENOTEMPTY,
        errno.EINVAL,
        errno.ENOSPC,
        errno.EDQUOT,
        errno.ENOSYS,
        errno.EOPNOTSUPP,
        errno.ENOTSUP,
        errno.EPROTONOSUPPORT,
        errno.ENAMETOOLONG,
        errno.EBADF,
        errno.EROFS,
        errno.ENODEV,
        errno.EXDEV,
        errno.EFBIG,
    }
)


@dataclass
class RemoteStat:
    """What a remote stat returns: size in bytes, modification time (epoch seconds), mode."""

    st_size: int
    st_mtime: float
    st_mode: int = 0o100644

    @property
    def isdir(self) -> bool:
        return stat_module.S_ISDIR(self.st_mode)


@dataclass
class ListEntry:
    """One entry of a directory listing; *isdir* is None when the backend cannot tell cheaply,
    *size* and *mtime* (epoch seconds) when the listing does not say."""

    name: str
    isdir: bool | None = None
    size: int | None = None
    mtime: float | None = None


def split_scheme(uri: str) -> tuple[str, str]:
    """``("root", "//host//path")`` for ``"root://host//path"``; ``("", uri)`` without scheme."""
    scheme, sep, rest = uri.partition(":")
    if sep and rest.startswith("//") and scheme.replace("+", "").isalnum():
        return scheme.lower(), rest
    return "", uri


def join_uri(base: str, path: str) -> str:
    """
    *base* joined with the absolute file-system *path*. A base ending in ``/`` keeps its slashes
    (``root://host//`` + ``/a`` -> ``root://host//a``); the root path gives the base itself.
    """
    rel = str(path).lstrip("/")
    if not rel:
        return base
    return (base if base.endswith("/") else base + "/") + rel


class RemoteFileInterface:
    """
    Primitive operations on one storage service, with bases, retries and error classification.

    Subclasses implement the ``_do_*`` methods (each gets a full URI) and :meth:`classify`.
    Public methods take file-system paths and return plain values; they raise
    :class:`TargetMissingError` when a path does not exist and :class:`TransientRemoteError`
    once the retries are used up.
    """

    #: the name the configuration calls this interface (``file_interface: gfal``)
    name = "remote"
    #: an upload becomes visible only when complete (S3 PUT): no temporary name is needed
    atomic_upload = False
    #: the storage has real directories (S3 has key prefixes only)
    has_directories = True
    #: checksum algorithm the server may offer for copy verification (None: size only)
    checksum_algorithm: str | None = None
    #: the client library ends a request after :attr:`request_timeout` (else only warnings)
    enforces_request_timeout = False

    def __init__(
        self,
        base: str | Sequence[str],
        bases: dict[str, str | Sequence[str]] | None = None,
        retries: int = 3,
        retry_delay: float = 1.0,
        random_base: bool = False,
        max_retry_delay: float = 60.0,
        config_section: str | None = None,
        request_timeout: float = 120.0,
        stall_warning: float = 20.0,
        **kwargs: Any,
    ):
        self.base = _as_list(base)
        if not self.base:
            raise ValueError(f"{type(self).__name__} needs at least one base URL")
        self.bases = {op: _as_list(b) for op, b in (bases or {}).items() if b}
        self.retries = max(0, int(retries))
        self.retry_delay = max(0.0, float(retry_delay))
        self.max_retry_delay = float(max_retry_delay)
        self.random_base = bool(random_base)
        self.config_section = config_section
        #: seconds without an answer after which a request fails (and is retried)
        self.request_timeout = float(request_timeout)
        #: seconds without an answer after which a running request is logged (0: never)
        self.stall_warning = float(stall_warning)
        self.op_counts: Counter[str] = Counter()
        self._rotation: dict[tuple[str, ...], Iterable[int]] = {}
        self._lock = threading.Lock()
        #: per-thread state of a backend (client contexts), never shared across threads or pickled
        self._local = threading.local()

    # interfaces travel to forked and spawned workers: locks and per-thread clients do not
    _UNPICKLED = ("_local", "_lock", "_rotation")

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        for name in self._UNPICKLED:
            state.pop(name, None)
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._rotation = {}

    def __repr__(self) -> str:
        more = f" (+{len(self.base) - 1})" if len(self.base) > 1 else ""
        return f"{type(self).__name__}({self.base[0]}{more})"

    # -- bases and URIs -------------------------------------------------------------------------

    def bases_for(self, op: str | Sequence[str] | None = None) -> list[str]:
        """The base URLs for operation *op* (the first of several names with its own bases)."""
        for name in _as_list(op) if op else []:
            if name in self.bases:
                return self.bases[name]
        return self.base

    def uri(self, path: str, base: str | None = None, op: str | None = None) -> str:
        """The URI of *path* on *base* (default: the first base for *op*)."""
        return join_uri(base or self.bases_for(op)[0], path)

    def _base_order(self, bases: list[str]) -> list[str]:
        """The bases in the order one call tries them: next in rotation (or random), then on."""
        if len(bases) == 1:
            return list(bases)
        if self.random_base:
            start = random.randrange(len(bases))
        else:
            key = tuple(bases)
            with self._lock:
                counter = self._rotation.setdefault(key, itertools.cycle(range(len(bases))))
                start = next(counter)  # type: ignore[call-overload]
        return bases[start:] + bases[:start]

    # -- running operations ---------------------------------------------------------------------

    def call(
        self,
        op: str,
        path: str,
        func: Callable[[str], T],
        base_op: Any = None,
        retries: int | None = None,
    ) -> T:
        """
        Run ``func(base)`` for operation *op* on *path*, retrying transient errors with backoff
        and failing over to the next base. Backend errors are classified on the way.
        """
        retries = self.retries if retries is None else retries
        order = self._base_order(self.bases_for(base_op or op))
        t0 = time.monotonic()
        attempt = 0
        while True:
            base = order[attempt % len(order)]
            uri = join_uri(base, path)
            self.op_counts[op] += 1
            if logger.isEnabledFor(logging.DEBUG):  # [logging] pipekit.target.remote: DEBUG
                logger.debug("%s %s", op, uri)
            t_attempt = time.monotonic()
            try:
                with request_watch.watch(
                    op,
                    uri,
                    f"{attempt + 1} of {retries + 1}",
                    self.stall_warning,
                    self._give_up(op),
                ):
                    return func(base)
            except (TargetMissingError, TargetExistsError, RemoteError):
                raise
            except Exception as e:  # noqa: BLE001 - every backend error is classified here
                err = self.classify(e, op, uri)
                name, timeout = self.timeout_for(op)
                if isinstance(err, TransientRemoteError) and self._timed_out(t_attempt, op):
                    err = TransientRemoteError(f"{err} - no answer within {name} ({timeout:g} s)")
                if not isinstance(err, TransientRemoteError) or attempt >= retries:
                    if isinstance(err, TransientRemoteError):
                        err = self._exhausted(err, op, uri, attempt + 1, order, t0)
                    raise err from e
            # exponential backoff, with jitter so that many jobs retrying together spread out
            delay = min(self.max_retry_delay, self.retry_delay * 2**attempt)
            delay *= random.uniform(0.9, 1.1)
            logger.info(
                "%s of %s failed (%s); attempt %d of %d in %.1f s",
                op,
                uri,
                err,
                attempt + 2,
                retries + 1,
                delay,
            )
            time.sleep(delay)
            attempt += 1

    def _where(self) -> str:
        return f"[{self.config_section}] in law.cfg" if self.config_section else "the file system"

    def timeout_for(self, op: str) -> tuple[str, float]:
        """The option that limits one request of *op*, and its value in seconds."""
        return "request_timeout", self.request_timeout

    def _give_up(self, op: str) -> str:
        """What happens to a stalled request of *op*, for the watch's warning."""
        if not self.enforces_request_timeout:
            return "This backend has no request timeout: stop the run if it does not recover."
        name, timeout = self.timeout_for(op)
        return f"It is given up after {name} ({timeout:g} s) of {self._where()}, then retried."

    def _timed_out(self, t_attempt: float, op: str) -> bool:
        """Whether an attempt of *op* that started at *t_attempt* failed by timing out."""
        # judged by time: client libraries report a timeout under many names and errnos, and
        # XrdCl checks its timeouts only now and then
        elapsed = time.monotonic() - t_attempt
        return self.enforces_request_timeout and elapsed >= 0.5 * self.timeout_for(op)[1]

    def _exhausted(
        self, err: Exception, op: str, uri: str, attempts: int, order: list[str], t0: float
    ) -> TransientRemoteError:
        nbases = f", {len(order)} bases" if len(order) > 1 else ""
        name = self.timeout_for(op)[0]
        knobs = f"{name} / retries" if f"within {name}" in str(err) else "retries / retry_delay"
        return TransientRemoteError(
            f"{op} of {uri} failed after {attempts} attempt{'s' if attempts > 1 else ''} "
            f"({time.monotonic() - t0:.1f} s{nbases}): {err}. The storage may be down, "
            f"overloaded or unreachable; check the server, or raise {knobs} of {self._where()}"
        )

    def classify(self, exc: BaseException, op: str, uri: str) -> Exception:
        """
        Map a backend exception to a pipekit error naming *uri*. The default handles
        :class:`OSError` by errno; backends extend it for their own exception types.
        """
        code = getattr(exc, "errno", None) or getattr(exc, "code", None)
        return classify_errno(code if isinstance(code, int) else None, f"{exc}", op, uri)

    # -- the public operations (paths in, plain values out) -------------------------------------

    def stat(self, path: str) -> RemoteStat:
        return self.call("stat", path, lambda b: self._do_stat(join_uri(b, path)))

    def exists(self, path: str) -> RemoteStat | None:
        """The stat of *path*, or None when it does not exist (transient errors are raised)."""
        try:
            return self.call(
                "stat", path, lambda b: self._do_stat(join_uri(b, path)), base_op=("exists", "stat")
            )
        except TargetMissingError:
            return None

    def listdir(self, path: str) -> list[ListEntry]:
        return self.call("listdir", path, lambda b: self._do_listdir(join_uri(b, path)))

    def listdir_names(self, path: str) -> list[str]:
        """Names in a directory, without types: one request, cheaper where the backend can."""
        return self.call("listdir", path, lambda b: self._do_listdir_names(join_uri(b, path)))

    def mkdir(self, path: str, perm: int | None = None, recursive: bool = True) -> None:
        if not self.has_directories:
            return
        self.call("mkdir", path, lambda b: self._do_mkdir(join_uri(b, path), perm, recursive))

    def unlink(self, path: str) -> None:
        self.call("unlink", path, lambda b: self._do_unlink(join_uri(b, path)))

    def rmdir(self, path: str) -> None:
        if not self.has_directories:
            return
        self.call("rmdir", path, lambda b: self._do_rmdir(join_uri(b, path)))

    def rename(self, src: str, dst: str) -> None:
        self.call(
            "rename",
            src,
            lambda b: self._do_rename(join_uri(b, src), join_uri(b, dst)),
            base_op=("rename", "filecopy"),
        )

    def chmod(self, path: str, perm: int) -> bool:
        """Set permissions; False when the server does not support it."""
        return self.call("chmod", path, lambda b: self._do_chmod(join_uri(b, path), perm))

    def upload(self, local_path: str, path: str) -> None:
        self.call(
            "upload",
            path,
            lambda b: self._do_upload(local_path, join_uri(b, path)),
            base_op="filecopy",
        )

    def download(self, path: str, local_path: str) -> None:
        self.call(
            "download",
            path,
            lambda b: self._do_download(join_uri(b, path), local_path),
            base_op="filecopy",
        )

    def copy(self, src: str, dst: str) -> bool:
        """Server-side copy; False when the server cannot do it (the caller relays locally)."""
        return self.call(
            "copy",
            src,
            lambda b: self._do_copy(join_uri(b, src), join_uri(b, dst)),
            base_op="filecopy",
        )

    def checksum(self, path: str) -> str | None:
        """The server's checksum of *path* (:attr:`checksum_algorithm`), None when not offered."""
        if not self.checksum_algorithm:
            return None
        return self.call(
            "checksum",
            path,
            lambda b: self._do_checksum(join_uri(b, path)),
            base_op=("checksum", "stat"),
        )

    def remove_tree(self, path: str) -> bool:
        """Remove a directory tree in one request; False when the backend cannot (caller walks)."""
        return False

    # -- backend hooks --------------------------------------------------------------------------

    def _do_stat(self, uri: str) -> RemoteStat:
        raise NotImplementedError

    def _do_listdir(self, uri: str) -> list[ListEntry]:
        raise NotImplementedError

    def _do_listdir_names(self, uri: str) -> list[str]:
        return [e.name for e in self._do_listdir(uri)]

    def _do_mkdir(self, uri: str, perm: int | None, recursive: bool) -> None:
        raise NotImplementedError

    def _do_unlink(self, uri: str) -> None:
        raise NotImplementedError

    def _do_rmdir(self, uri: str) -> None:
        raise NotImplementedError

    def _do_rename(self, src_uri: str, dst_uri: str) -> None:
        raise NotImplementedError

    def _do_chmod(self, uri: str, perm: int) -> bool:
        return False

    def _do_upload(self, local_path: str, uri: str) -> None:
        raise NotImplementedError

    def _do_download(self, uri: str, local_path: str) -> None:
        raise NotImplementedError

    def _do_copy(self, src_uri: str, dst_uri: str) -> bool:
        return False

    def _do_checksum(self, uri: str) -> str | None:
        return None


def classify_errno(code: int | None, message: str, op: str, uri: str) -> Exception:
    """The pipekit error for an errno-style failure of *op* on *uri*."""
    if code == errno.ENOENT:
        return TargetMissingError(f"{op} of {uri}: it does not exist")
    if code == errno.ENOTDIR:  # a path below a file, or a file listed as a directory
        return TargetMissingError(f"{op} of {uri}: it is not a directory")
    if code == errno.EEXIST:
        return TargetExistsError(f"{op} of {uri}: it exists already")
    if code in PERMANENT_ERRNOS:
        return RemoteError(f"{op} of {uri} failed: {message}")
    return TransientRemoteError(message)


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value.strip()] if value.strip() else []
    return [str(v).strip() for v in value if v and str(v).strip()]
