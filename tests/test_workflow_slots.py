"""
Run-wide worker slots (pipekit/workflow/slots.py) between real forked processes: a slot held by
a process that dies is free again, and a process waiting for a slot gets it before one that just
gave its own back. The limit over a whole ``pipekit run`` is tested in test_workflow_local.py.
"""

from __future__ import annotations

import fcntl
import os
import select
import signal
import time

import pytest

from pipekit.workflow.slots import RunSlots, current_slots, run_slots

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def slots():
    s = RunSlots(1)
    yield s
    s.close()
    assert not os.path.exists(s.directory)


def _fork(body) -> int:
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        code = 1
        try:
            body()
            code = 0
        finally:
            os._exit(code)
    return pid


def test_the_slot_of_a_killed_process_is_free_again(slots):
    r, w = os.pipe()

    def hold_forever():
        slots.acquire()
        os.write(w, b"x")
        time.sleep(60)

    pid = _fork(hold_forever)
    assert os.read(r, 1) == b"x"  # the child holds the only slot
    os.kill(pid, signal.SIGKILL)  # a branch killed by the OOM killer, say
    os.waitpid(pid, 0)
    t0 = time.monotonic()
    slots.acquire()  # hangs (until the test times out) if the slot went with the process
    assert slots.held and time.monotonic() - t0 < 1


def _gate_taken(slots) -> bool:
    fd = os.open(os.path.join(slots.directory, "gate"), os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def test_a_waiting_process_gets_the_slot_before_one_that_just_gave_it_back(slots):
    r, w = os.pipe()
    slots.acquire()

    def wait_then_work():
        slots.acquire()
        os.write(w, b"child")
        time.sleep(0.3)

    pid = _fork(wait_then_work)
    deadline = time.monotonic() + 10
    while not _gate_taken(slots):  # the child queues for the slot
        assert time.monotonic() < deadline
        time.sleep(0.01)
    slots.release()
    slots.acquire()  # straight back: must queue behind the child
    child_went_first = bool(select.select([r], [], [], 0)[0])
    slots.release()  # a starved child finishes now, so that the test can end either way
    _, status = os.waitpid(pid, 0)
    assert child_went_first, "the process that gave its slot back took it before the waiting one"
    assert os.read(r, 5) == b"child" and os.waitstatus_to_exitcode(status) == 0


def test_holding_is_reentrant_and_forks_hold_their_own():
    with run_slots(2) as slots:
        assert current_slots() is slots
        with slots.holding():
            with slots.holding():
                assert slots.held
            assert slots.held  # the inner block kept the slot it found
            r, w = os.pipe()
            pid = _fork(lambda: os.write(w, b"1" if not slots.held else b"0"))
            os.waitpid(pid, 0)
            assert os.read(r, 1) == b"1"  # a fork does not share its parent's lock
        assert not slots.held
    assert current_slots() is None and not os.path.exists(slots.directory)
    with run_slots(1) as none:
        assert none is None  # --workers 1: no slots, no limit to keep
