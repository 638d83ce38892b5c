"""
:class:`ForkPool`: worker processes forked from the running workflow, each running one item
(a branch) at a time, used by :class:`~pipekit.workflow.local.LocalWorkflow` for ``--workers N``.
A worker holds one of the run's worker slots (:mod:`pipekit.workflow.slots`) while it runs.

Why not :class:`concurrent.futures.ProcessPoolExecutor`: a branch that kills its process (a
segfault in compiled code, ``os._exit``, the OOM killer) breaks the whole executor, and on Ctrl-C
the executor waits for the running branches to finish. Here a dead worker fails only its item
and is replaced, an interrupted run terminates its workers at once, and no worker outlives the
run: Linux is asked to send SIGTERM to a worker whose parent dies, even by ``kill -9``. Items and
results travel through pipes as small tuples; the function runs in the fork and is never pickled.
Fast items are handed out in chunks, so that 2000 trivial branches do not cost 2000 round trips.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import sys
import time
from multiprocessing.connection import Connection, wait
from typing import Any, Callable, ContextManager, Iterable, Iterator

__all__ = ["ForkPool", "die_with_parent", "die_with_parent_if_task_process"]

_STOP = None
_PR_SET_PDEATHSIG = 1


class _Terminated(BaseException):
    """Raised in a worker on SIGTERM, so that ``finally`` blocks (temporary files) still run."""


def _raise_terminated(signum: int, frame: Any) -> None:
    raise _Terminated()


def die_with_parent(parent_pid: int, sig: int = signal.SIGTERM) -> None:
    """Have Linux send *sig* to this process when its parent ends (no-op elsewhere)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent_pid:  # the parent ended before the request took effect
        os.kill(os.getpid(), sig)


def die_with_parent_if_task_process() -> None:
    """
    In a process luigi forked to run a task (``--workers`` > 1), end with luigi's main process:
    luigi terminates its task processes on Ctrl-C but not when it is killed itself.
    """
    parent = multiprocessing.parent_process()
    if parent is None:
        return
    from luigi.worker import TaskProcess

    proc = multiprocessing.current_process()
    if isinstance(proc, TaskProcess) and not getattr(proc, "_pipekit_dies_with_parent", False):
        die_with_parent(parent.pid)
        proc._pipekit_dies_with_parent = True  # type: ignore[attr-defined]


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "still running"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


def _worker_main(
    conn: Connection,
    fn: Callable[[Any], Any],
    parent_pid: int,
    inherited: list[Connection],
    hold: Callable[[], ContextManager[Any]],
) -> None:
    for other in inherited:  # the pipes of sibling workers, copied by fork
        other.close()
    die_with_parent(parent_pid)
    signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        while True:
            chunk = conn.recv()
            if chunk is _STOP:
                break
            with hold():
                for item in chunk:
                    t0 = time.monotonic()
                    result = fn(item)
                    conn.send((item, result, time.monotonic() - t0))
    except (KeyboardInterrupt, _Terminated, EOFError, BrokenPipeError):
        pass  # the parent is stopping the run; it reports what happened
    finally:
        conn.close()


class ForkPool:
    """
    *size* forked processes that apply *fn* to items (use as a context manager). On leaving the
    block normally the workers are stopped; on an exception (Ctrl-C included) they are
    terminated, then killed if they do not end within *grace* seconds.

    Items go out in chunks sized so that a chunk takes about :attr:`chunk_seconds` (judged from
    the items done so far): one at a time for slow items, up to :attr:`max_chunk` for items that
    take microseconds, whose cost would otherwise be the round trips through the pipes.
    """

    chunk_seconds = 0.05
    max_chunk = 64

    def __init__(
        self,
        fn: Callable[[Any], Any],
        size: int,
        grace: float = 3.0,
        hold: Callable[[], ContextManager[Any]] = contextlib.nullcontext,
    ):
        self.fn = fn
        self.size = max(1, size)
        self.grace = grace
        self.hold = hold  # entered by a worker around each chunk (a run-wide worker slot)
        self._ctx = multiprocessing.get_context("fork")
        self._workers: dict[Connection, tuple[Any, list[Any]]] = {}  # conn -> (process, items)
        self._seconds_per_item: float | None = None

    def __enter__(self) -> ForkPool:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self.close(terminate=exc_type is not None)

    def _start(self) -> Connection:
        sys.stdout.flush()  # buffered output would otherwise be written again by the fork
        sys.stderr.flush()
        parent_end, child_end = self._ctx.Pipe()
        proc = self._ctx.Process(
            target=_worker_main,
            name="pipekit-branch-worker",
            args=(child_end, self.fn, os.getpid(), list(self._workers), self.hold),
        )
        proc.start()
        child_end.close()
        self._workers[parent_end] = (proc, [])
        return parent_end

    def _chunk_size(self, n_pending: int) -> int:
        if self._seconds_per_item is None:
            return 1
        n = int(self.chunk_seconds / max(self._seconds_per_item, 1e-7))
        # never more than a fair share of what is left, so that all workers finish together
        return max(1, min(n, self.max_chunk, -(-n_pending // self.size)))

    def _feed(self, conn: Connection, pending: list[Any]) -> None:
        if pending:
            n = self._chunk_size(len(pending))
            chunk = [pending.pop() for _ in range(min(n, len(pending)))]
            self._workers[conn][1].extend(chunk)
            conn.send(chunk)

    def _learn(self, seconds: float) -> None:
        prev = self._seconds_per_item
        self._seconds_per_item = seconds if prev is None else 0.8 * prev + 0.2 * seconds

    def map_unordered(self, items: Iterable[Any]) -> Iterator[tuple[Any, Any]]:
        """Yield ``(item, fn(item))`` as results arrive; an item whose worker died yields
        ``(item, ("failed", (message, "")))`` and the worker is replaced."""
        pending = list(items)[::-1]
        while len(self._workers) < min(self.size, len(pending)):
            self._start()
        for conn in list(self._workers):
            self._feed(conn, pending)
        while any(assigned for _, assigned in self._workers.values()):
            busy = [c for c, (_, assigned) in self._workers.items() if assigned]
            for conn in wait(busy):
                try:
                    item, result, seconds = conn.recv()
                except (EOFError, OSError):
                    yield self._buried(conn, pending)
                    if pending:
                        self._feed(self._start(), pending)
                    continue
                assigned = self._workers[conn][1]
                assigned.remove(item)
                self._learn(seconds)
                yield item, result
                if not assigned:
                    self._feed(conn, pending)

    def _buried(self, conn: Connection, pending: list[Any]) -> tuple[Any, Any]:
        """A worker died: its current item failed; the rest of its chunk goes back to pending."""
        proc, assigned = self._workers.pop(conn)
        proc.join()
        conn.close()
        pending.extend(reversed(assigned[1:]))
        reason = f"the process running it died ({_describe_exit(proc.exitcode)})"
        return assigned[0], ("failed", (reason, ""))

    def close(self, terminate: bool = False) -> None:
        """Stop the workers (politely, or with SIGTERM when *terminate*) and reap them."""
        for conn, (proc, _) in self._workers.items():
            try:
                if terminate:
                    proc.terminate()
                else:
                    conn.send(_STOP)
            except (OSError, ValueError):
                pass
        deadline = time.monotonic() + self.grace
        for conn, (proc, _) in self._workers.items():
            proc.join(max(0.0, deadline - time.monotonic()))
            if proc.exitcode is None:
                proc.kill()
                proc.join()
            conn.close()
        self._workers.clear()
