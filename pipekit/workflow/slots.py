"""
Run-wide worker slots: ``pipekit run --workers N`` does work in at most N processes at once.

luigi runs up to N tasks at once, each in a process of its own, and a
:class:`~pipekit.workflow.local.LocalWorkflow` among them runs its branches in forked processes.
Without a shared limit, N workflows running at once each forked N branch workers: N² processes
on a machine the user asked to load with N (law's branches are luigi tasks, so law runs N).

:class:`RunSlots` are N lock files in a private temporary directory, made by the process that
calls ``luigi.build``. A process doing work holds one slot, an exclusive :func:`fcntl.flock` on
one of the files:

- every luigi task process takes a slot when its task starts (luigi's ``START`` event) and keeps
  it until it ends;
- a LocalWorkflow gives its slot back while its forked branch workers run, and each worker holds
  a slot while it runs a chunk of branches.

The kernel releases a lock when its process ends, however it ends, so a branch that crashes or
is killed never takes a slot with it. Processes waiting for a slot queue on a gate lock, so that
a worker that just released its slot cannot take it straight back from one that was waiting.
Processes started with ``exec`` (sandboxes, batch jobs) do not inherit the slots.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import time
from typing import Iterator

__all__ = ["RunSlots", "run_slots", "current_slots", "hold_slot", "give_back_slot"]

logger = logging.getLogger(__name__)


class RunSlots:
    """*n* slots shared by this process and every process forked from it."""

    def __init__(self, n: int):
        import tempfile

        self.n = max(1, int(n))
        self.owner = os.getpid()
        self.directory = tempfile.mkdtemp(prefix="pipekit-slots-")
        for i in range(self.n):
            open(os.path.join(self.directory, f"slot{i}"), "w").close()
        open(os.path.join(self.directory, "gate"), "w").close()
        self._pid = -1  # the process whose descriptors these are (forks open their own)
        self._gate = -1
        self._fds: list[int] = []
        self._held: int | None = None

    def _open(self) -> None:
        """Open this process's own descriptors: a lock on an inherited one would be shared."""
        if self._pid == os.getpid():
            return
        # a fork's copies refer to its parent's open files; closing them releases nothing
        for fd in [self._gate, *self._fds]:
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._gate = os.open(os.path.join(self.directory, "gate"), os.O_RDWR | os.O_CLOEXEC)
        self._fds = [
            os.open(os.path.join(self.directory, f"slot{i}"), os.O_RDWR | os.O_CLOEXEC)
            for i in range(self.n)
        ]
        self._pid = os.getpid()
        self._held = None

    @property
    def held(self) -> bool:
        return self._pid == os.getpid() and self._held is not None

    def _try_take(self) -> bool:
        start = os.getpid() % self.n  # spread the first attempts of many processes
        for k in range(self.n):
            i = (start + k) % self.n
            try:
                fcntl.flock(self._fds[i], fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue
            self._held = i
            return True
        return False

    def acquire(self) -> None:
        """Take a slot, waiting for one to become free (a no-op when this process holds one)."""
        try:
            self._open()
        except OSError as e:  # the run is over and its slot files are gone: nothing to share
            logger.debug("worker slots unavailable (%s); running without", e)
            return
        if self._held is not None:
            return
        t0 = time.monotonic()
        # through the gate, always: a process that just gave its slot back queues behind the
        # ones already waiting instead of taking the slot straight back
        fcntl.flock(self._gate, fcntl.LOCK_EX)
        try:
            delay = 0.0005
            while not self._try_take():
                time.sleep(delay)
                delay = min(delay * 2, 0.01)
        finally:
            fcntl.flock(self._gate, fcntl.LOCK_UN)
        waited = time.monotonic() - t0
        if waited > 0.01:
            logger.debug("waited %.2f s for one of %d worker slots", waited, self.n)

    def release(self) -> None:
        """Give this process's slot back (a no-op when it holds none)."""
        if not self.held:
            return
        fcntl.flock(self._fds[self._held], fcntl.LOCK_UN)  # type: ignore[index]
        self._held = None

    @contextlib.contextmanager
    def holding(self) -> Iterator[None]:
        """Hold a slot inside the block; one held already is kept, and kept afterwards."""
        had = self.held
        self.acquire()
        try:
            yield
        finally:
            if not had:
                self.release()

    def close(self) -> None:
        """Remove the lock files (only the process that made them does)."""
        if os.getpid() == self.owner:
            import shutil

            shutil.rmtree(self.directory, ignore_errors=True)


_current: RunSlots | None = None


def current_slots() -> RunSlots | None:
    """The slots of the run this process belongs to, or None (``--workers 1``, no ``pipekit run``)."""
    return _current


@contextlib.contextmanager
def run_slots(n: int) -> Iterator[RunSlots | None]:
    """Share *n* slots among the processes of the run inside the block (none for *n* <= 1)."""
    global _current
    if n <= 1 or _current is not None:
        yield _current
        return
    try:
        slots = RunSlots(n)
    except OSError as e:
        logger.warning(
            "cannot make the worker slots of this run in %s (%s): each workflow runs up to %d "
            "branches at once on its own", _tmpdir(), e, n
        )
        yield None
        return
    _install_start_handler()
    _current = slots
    try:
        yield slots
    finally:
        _current = None
        slots.close()


@contextlib.contextmanager
def hold_slot() -> Iterator[None]:
    """Hold a slot of the current run inside the block (no limit outside a run)."""
    slots = _current
    if slots is None:
        yield
        return
    with slots.holding():
        yield


def give_back_slot() -> None:
    """Release this process's slot while others work for it (a workflow's branch workers)."""
    if _current is not None:
        _current.release()


def _tmpdir() -> str:
    import tempfile

    return tempfile.gettempdir()


_handler_installed = False


def _install_start_handler() -> None:
    global _handler_installed
    if _handler_installed:
        return
    import luigi

    @luigi.Task.event_handler(luigi.Event.START)
    def _take_slot(task: object) -> None:
        slots = _current
        # luigi runs each task in a process of its own when N > 1; the process that made the
        # slots only schedules
        if slots is not None and os.getpid() != slots.owner:
            slots.acquire()

    _handler_installed = True
