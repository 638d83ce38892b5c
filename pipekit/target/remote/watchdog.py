"""
:class:`RequestWatch`: a remote request that takes unusually long is reported while it runs.

Every request of a :class:`~pipekit.target.remote.interface.RemoteFileInterface` is registered
here for as long as it runs. A daemon thread (one per process, started on first use) logs a
warning when a request has had no answer — or, for a transfer, no progress — for
``stall_warning`` seconds, and again after twice, four times, ... that long::

    checksum of root://eos.example.org//store/a.json: no answer for 20 s (attempt 1 of 4),
    still waiting; the server may be overloaded or unreachable. It is given up after
    request_timeout (120 s) of [wlcg_fs] in law.cfg, then retried.

So a stuck request is visible in the log (and in the output of ``pipekit run``) instead of
being a silent hang; ending it is the job of the backend's request timeout (for XRootD a hard
bound: :mod:`~pipekit.target.remote.isolation` stops a request that outlives it). The gfal2 bindings
and fsspec release the GIL while they wait for the network, so the thread runs during a stall.

The thread ends when no request is running and starts again with the next one. After a fork the
child starts with no registered requests and without the thread (threads do not survive a fork).
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

__all__ = ["RequestWatch", "request_watch", "heartbeat", "set_probe", "read_offset"]

logger = logging.getLogger("pipekit.target.remote")


@dataclass
class _Request:
    """One running request: what it is, and when it was sent or last made progress."""

    op: str
    uri: str
    attempt: str
    warn_after: float
    give_up: str
    started: float = field(default_factory=time.monotonic)
    progress: float = 0.0
    warnings: int = 0
    #: returns a value that changes while the request makes progress (a local file's size)
    probe: Callable[[], Any] | None = None
    probed: Any = None

    def __post_init__(self) -> None:
        self.progress = self.started


class RequestWatch:
    """The running requests of this process and the thread that reports stalled ones."""

    #: how often the thread looks (seconds); warnings are at most this late
    tick = 1.0
    #: called by :meth:`heartbeat` as well: a request helper process passes progress on to the
    #: process it works for (:mod:`pipekit.target.remote.isolation`)
    forward_progress: Callable[[], None] | None = None

    def __init__(self) -> None:
        self._reset()
        if hasattr(os, "register_at_fork"):
            # a lock held by the thread at the moment of a fork would stay locked in the child
            os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._requests: dict[int, _Request] = {}
        self._ids = itertools.count()
        self._local = threading.local()
        self._thread: threading.Thread | None = None

    @contextlib.contextmanager
    def watch(
        self, op: str, uri: str, attempt: str, warn_after: float, give_up: str
    ) -> Iterator[None]:
        """Register a request for the duration of the block (*warn_after* <= 0: not watched)."""
        if warn_after <= 0:
            yield
            return
        rid = next(self._ids)
        req = _Request(op, uri, attempt, warn_after, give_up)
        with self._lock:
            self._requests[rid] = req
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="pipekit-request-watch", daemon=True
                )
                self._thread.start()
        outer = getattr(self._local, "current", None)
        self._local.current = req
        try:
            yield
        finally:
            self._local.current = outer
            with self._lock:
                self._requests.pop(rid, None)
            if req.warnings:
                logger.warning(
                    "%s of %s: over after %s s", op, uri, _seconds(time.monotonic() - req.started)
                )

    def heartbeat(self) -> None:
        """Mark progress of the current thread's request (a chunk of a transfer moved)."""
        req = getattr(self._local, "current", None)
        if req is not None:
            req.progress = time.monotonic()
        if self.forward_progress is not None:
            self.forward_progress()

    def last_progress(self) -> float | None:
        """When the current thread's request last made progress (``time.monotonic()``), or None
        when this thread runs no watched request."""
        req = getattr(self._local, "current", None)
        return req.progress if req is not None else None

    def set_probe(self, probe: Callable[[], Any]) -> None:
        """
        Let the thread judge progress of the current thread's request by *probe*, for transfers
        done inside a client library that reports none: the request progresses while the value
        *probe()* returns changes.
        """
        req = getattr(self._local, "current", None)
        if req is not None:
            req.probe = probe

    def running(self) -> list[tuple[str, str, float]]:
        """``(op, uri, seconds without progress)`` of the requests running now."""
        now = time.monotonic()
        with self._lock:
            return [(r.op, r.uri, now - r.progress) for r in self._requests.values()]

    def _run(self) -> None:
        while True:
            time.sleep(self.tick)
            now = time.monotonic()
            with self._lock:
                if not self._requests:  # idle: end; the next request starts a new thread
                    self._thread = None
                    return
                probed = [r for r in self._requests.values() if r.probe is not None]
            for r in probed:
                with contextlib.suppress(Exception):
                    value = r.probe()
                    if value != r.probed:
                        r.probed, r.progress = value, now
            with self._lock:
                due = [
                    r
                    for r in self._requests.values()
                    if now - r.progress >= r.warn_after * 2**r.warnings
                ]
                for r in due:
                    r.warnings += 1
            for r in due:  # log outside the lock: a handler may be slow
                quiet = now - r.progress
                what = "no answer" if r.progress == r.started else "no progress"
                logger.warning(
                    "%s of %s: %s for %s s (attempt %s), still waiting; the server may be "
                    "overloaded or unreachable. %s",
                    r.op,
                    r.uri,
                    what,
                    _seconds(quiet),
                    r.attempt,
                    r.give_up,
                )


def _seconds(value: float) -> str:
    return f"{value:.0f}" if value >= 1 else f"{value:.1f}"


#: the watch of this process, used by every remote file interface
request_watch = RequestWatch()


def heartbeat() -> None:
    """Mark progress of the request running in this thread (see :meth:`RequestWatch.heartbeat`)."""
    request_watch.heartbeat()


def set_probe(probe: Callable[[], Any]) -> None:
    """Judge progress of this thread's request by *probe* (see :meth:`RequestWatch.set_probe`)."""
    request_watch.set_probe(probe)


def read_offset(path: str, pid: int | None = None) -> int | None:
    """
    How far this process (or process *pid*, a request helper) has read local *path* (the offset
    of a descriptor open on it; Linux' ``/proc``), or None: progress of an upload that a client
    library does without reporting it.
    """
    proc = f"/proc/{pid}" if pid else "/proc/self"
    fd_dir = f"{proc}/fd"
    try:
        for fd in os.listdir(fd_dir):
            try:
                if os.readlink(os.path.join(fd_dir, fd)) != path:
                    continue
                with open(f"{proc}/fdinfo/{fd}") as f:
                    return int(f.readline().split()[1])  # first line: "pos:    <offset>"
            except (OSError, ValueError, IndexError):
                continue
    except OSError:
        pass
    return None
