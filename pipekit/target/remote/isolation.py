"""
:class:`RequestHelper`: a file interface's requests run in a helper process of their own.

Why: XRootD's client library (XrdCl, used by gfal2) runs threads, and a process that forks while
one of them holds a lock (glibc's name resolver, XrdCl's plug-in manager) gives its child a lock
that nobody will ever release. LocalWorkflow forks its branch workers and luigi forks its task
processes after the parent listed the outputs, so about one child in fifty hung forever there,
and XrdCl's own timeouts could not fire (their threads wait on the same locks). Now no process
that forks ever runs XrdCl: each process (and each thread in it) that uses an isolated interface
starts one helper with ``fork`` + ``exec`` of a fresh Python — a clean process with no inherited
locks — and sends it the primitive operations (stat, listdir, upload of a local path, ...). A
child forked from a process with a helper drops its copy of the pipes and starts its own.

The helper also makes ``request_timeout`` a hard bound. A request that has had no answer (for a
transfer: no progress) for its timeout plus a grace time is ended by killing the helper; the
caller gets a transient error that names the URI, and the retry starts a fresh helper.

Cost, measured on localhost XRootD: about 0.03 ms per request for the round trip through the
pipes (0.27 instead of 0.24 ms per stat), and 0.2 s once per process to start the helper.

The protocol is small length-prefixed pickles over the helper's stdin and a duplicate of its
stdout: ``("init", interface)``, then ``("call", method, args)`` answered by ``("ok", value,
changes)`` or ``("error", exception, changes)``, with ``("progress",)`` sent while a transfer
moves. *changes* carries attributes the interface learnt on the way (a server without checksums).
"""

from __future__ import annotations

import errno
import logging
import os
import pickle
import select
import signal
import struct
import subprocess
import sys
import time
import weakref
from typing import Any, Sequence

__all__ = ["RequestHelper", "RequestTimedOut", "HelperFailed", "RemoteLibraryError", "main"]

logger = logging.getLogger("pipekit.target.remote")

_HEADER = struct.Struct("!I")
#: seconds a helper may take to start (import gfal2) before it counts as failed
START_TIMEOUT = 60.0
#: a transfer reports progress at most this often (seconds)
PROGRESS_EVERY = 0.5

#: helpers of this process, so that a forked child can drop its copies of their pipes
_helpers: weakref.WeakSet = weakref.WeakSet()


class RequestTimedOut(Exception):
    """The helper gave no answer (no progress) in time and was stopped; a transient error."""

    code = errno.ETIMEDOUT

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class HelperFailed(Exception):
    """The helper process could not be started or ended in the middle of a request (transient)."""

    code = errno.EIO

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class RemoteLibraryError(Exception):
    """An error of the client library in the helper (gfal2's GError), with its errno *code*."""

    def __init__(self, message: str, code: int | None = None):
        super().__init__(message)
        self.message = message
        self.code = code

    def __reduce__(self) -> Any:
        return (RemoteLibraryError, (self.message, self.code))


def _write_frame(fd: int, obj: Any) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    view = memoryview(_HEADER.pack(len(data)) + data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


class _FrameReader:
    """Reads frames from *fd*, several per system call when they arrive together."""

    def __init__(self, fd: int):
        self.fd = fd
        self._buf = b""

    def _frame_size(self) -> int | None:
        if len(self._buf) < _HEADER.size:
            return None
        (n,) = _HEADER.unpack_from(self._buf)
        return n if len(self._buf) >= _HEADER.size + n else None

    def buffered(self) -> bool:
        """Whether a whole frame is waiting in the buffer (select would not see it)."""
        return self._frame_size() is not None

    def read(self) -> Any:
        while (n := self._frame_size()) is None:
            chunk = os.read(self.fd, 1 << 16)
            if not chunk:
                raise EOFError
            self._buf += chunk
        data, self._buf = self._buf[_HEADER.size:_HEADER.size + n], self._buf[_HEADER.size + n:]
        return pickle.loads(data)


def _drop_inherited() -> None:
    """In a forked child: forget the parent's helpers without talking to them."""
    for helper in list(_helpers):
        helper._forget()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_drop_inherited)


class RequestHelper:
    """
    The helper process of one interface in one thread of one process (see the module
    docstring). :meth:`run` sends one call and waits for its answer within a hard limit.
    """

    #: extra seconds after an operation's timeout before the helper is stopped: the client
    #: library's own timeout (checked every second) should end the request first, with its error
    grace = 3.0

    def __init__(self, interface: Any):
        self.interface = interface
        self.proc: subprocess.Popen | None = None
        self.pid = os.getpid()
        self._out: int | None = None  # our end of the helper's stdin
        self._in: int | None = None  # our end of the helper's answers
        _helpers.add(self)

    # -- life -----------------------------------------------------------------------------------

    @property
    def helper_pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def _start(self) -> None:
        env = dict(os.environ)
        # the helper imports what this process can: its sys.path (a venv's .pth shims, tests'
        # additions) and the interface's module
        paths = [p for p in sys.path if p] + env.get("PYTHONPATH", "").split(os.pathsep)
        env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(p for p in paths if p))
        read_answers, write_answers = os.pipe()
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "pipekit.target.remote.isolation", str(write_answers)],
                stdin=subprocess.PIPE,
                env=env,
                pass_fds=(write_answers,),
                close_fds=True,
            )
        except OSError as e:
            os.close(read_answers)
            raise HelperFailed(f"cannot start the request helper process ({e})") from None
        finally:
            os.close(write_answers)
        assert self.proc.stdin is not None
        self._out = self.proc.stdin.fileno()
        self._in = read_answers
        self._reader = _FrameReader(read_answers)
        try:
            _write_frame(self._out, ("init", self.interface))
            answer = self._wait(START_TIMEOUT, "start")
        except BaseException:
            self.stop()
            raise
        if answer[0] != "ready":
            self.stop()
            raise HelperFailed(f"the request helper process did not start: {answer!r}")

    def stop(self) -> None:
        """End the helper (killed: it may be stuck in the client library) and reap it."""
        proc, self.proc = self.proc, None
        if self._in is not None:
            os.close(self._in)
        self._in = self._out = None
        if proc is None:
            return
        try:
            proc.kill()
        except OSError:
            pass
        if proc.stdin is not None:
            try:
                proc.stdin.close()
            except OSError:
                pass
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass

    def _forget(self) -> None:
        """Drop the pipes of a helper that belongs to the parent process (after a fork)."""
        if self.pid == os.getpid():
            return
        if self._in is not None:
            try:
                os.close(self._in)
            except OSError:
                pass
        if self.proc is not None:
            self.proc.returncode = 0  # never waited for here: it is not our child
            if self.proc.stdin is not None:
                try:
                    self.proc.stdin.close()  # nothing buffered: frames are written with os.write
                except OSError:
                    pass
        self.proc = None
        self._in = self._out = None

    def __del__(self) -> None:
        if getattr(self, "pid", None) == os.getpid() and getattr(self, "proc", None) is not None:
            try:
                self.stop()
            except Exception:  # noqa: BLE001 - interpreter shutdown
                pass

    # -- requests -------------------------------------------------------------------------------

    def run(self, method: str, args: Sequence[Any], op: str, uri: str, limit: float,
            limit_name: str) -> Any:
        """
        ``interface.<method>(*args)`` in the helper; ended (and raised as
        :class:`RequestTimedOut`) when the helper has not answered or reported progress for
        *limit* + :attr:`grace` seconds. *op*, *uri* and *limit_name* go into messages.
        """
        if self.pid != os.getpid():  # a fork that missed the fork hook (it is never shared)
            self._forget()
            self.pid = os.getpid()
        if self.proc is None or self.proc.poll() is not None:
            self.stop()
            self._start()
        assert self._out is not None
        try:
            _write_frame(self._out, ("call", method, tuple(args)))
            answer = self._wait(limit + self.grace, op, uri, limit, limit_name)
        except BaseException:
            # an interrupt or a timeout leaves an answer on its way: this helper is done
            self.stop()
            raise
        kind, value, changes = answer
        for name, new in changes.items():
            setattr(self.interface, name, new)
        if kind == "error":
            raise value
        return value

    def _wait(self, limit: float, op: str, uri: str = "", timeout: float = 0.0,
              timeout_name: str = "") -> Any:
        from pipekit.target.remote.watchdog import request_watch

        assert self._in is not None and self.proc is not None
        last = time.monotonic()
        while True:
            now = time.monotonic()
            # progress seen by the request watch (a probe of a transfer's local file) counts too
            seen = request_watch.last_progress()
            quiet_since = max(last, seen) if seen is not None else last
            left = quiet_since + limit - now
            if left <= 0:
                return self._timed_out(op, uri, timeout, timeout_name, now - quiet_since)
            if not self._reader.buffered():
                ready, _, _ = select.select([self._in], [], [], min(left, 1.0))
                if not ready:
                    continue
            try:
                answer = self._reader.read()
            except (EOFError, OSError):
                code = self.proc.wait()
                when = "while starting" if op == "start" else "during the request"
                raise HelperFailed(
                    f"the request helper process (pid {self.proc.pid}) ended {when} "
                    f"({_describe(code)}; its error output, if any, is above)"
                ) from None
            if answer[0] == "progress":
                last = time.monotonic()
                request_watch.heartbeat()
                continue
            return answer

    def _timed_out(self, op: str, uri: str, timeout: float, name: str, quiet: float) -> Any:
        pid = self.helper_pid
        if op == "start":
            self.stop()
            raise HelperFailed(f"the request helper process (pid {pid}) did not start within "
                               f"{START_TIMEOUT:g} s")
        logger.warning("%s of %s: no answer within %s (%g s); ending the request (its helper "
                       "process %s is stopped)", op, uri, name, timeout, pid)
        self.stop()
        raise RequestTimedOut(
            f"ended after {quiet:.0f} s without an answer (its request helper process {pid} "
            "was stopped)"
        )


def _describe(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


# -- the helper process -------------------------------------------------------------------------


def _die_with_parent(parent: int) -> None:
    """Have Linux kill this helper when the process that started it ends (even by kill -9)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:
        os._exit(0)


def _portable_error(exc: BaseException) -> BaseException:
    """*exc* as something the caller can unpickle and classify like the original."""
    code = getattr(exc, "code", None)
    if type(exc).__module__.split(".")[0] == "pipekit":
        try:
            pickle.loads(pickle.dumps(exc))
            return exc
        except Exception:  # noqa: BLE001 - fall back to the message
            pass
    message = str(getattr(exc, "message", None) or exc)
    return RemoteLibraryError(message, code if isinstance(code, int) else
                              getattr(exc, "errno", None))


def main(argv: Sequence[str] | None = None) -> int:
    """The helper: answer calls from the process that started it until its stdin closes."""
    argv = list(sys.argv[1:] if argv is None else argv)
    answers = int(argv[0])
    parent = os.getppid()
    _die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the caller's to handle
    os.dup2(2, 1)  # anything a library prints goes to stderr, never into the answers
    requests = 0

    from pipekit.target.remote import watchdog

    last_progress = [0.0]

    def progress() -> None:
        now = time.monotonic()
        if now - last_progress[0] >= PROGRESS_EVERY:
            last_progress[0] = now
            _write_frame(answers, ("progress",))

    watchdog.request_watch.forward_progress = progress
    reader = _FrameReader(requests)
    try:
        kind, interface = reader.read()
        interface.become_helper()
        synced = tuple(getattr(interface, "synced_attributes", ()))
        _write_frame(answers, ("ready", os.getpid()))
        while True:
            kind, method, args = reader.read()
            before = {name: getattr(interface, name, None) for name in synced}
            try:
                value = getattr(interface, method)(*args)
                answer: tuple = ("ok", value)
            except Exception as e:  # noqa: BLE001 - every error goes back to the caller
                answer = ("error", _portable_error(e))
            changes = {n: getattr(interface, n, None) for n in synced
                       if getattr(interface, n, None) != before[n]}
            _write_frame(answers, answer + (changes,))
    except EOFError:
        return 0


if __name__ == "__main__":
    # run the module's own copy, so that errors pickle under its real name, not __main__'s
    from pipekit.target.remote.isolation import main as _main

    sys.exit(_main())
