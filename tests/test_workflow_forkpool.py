"""
Tests for pipekit.workflow.forkpool: results of all items, a dying worker failing only its item,
and prompt termination of busy workers when the block is left by an exception.
"""

from __future__ import annotations

import os
import signal
import time

import pytest

from pipekit.workflow.forkpool import ForkPool


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_every_item_is_run_once_in_the_worker_processes():
    with ForkPool(lambda i: ("ok", (i * i, os.getpid())), 2) as pool:
        results = dict(pool.map_unordered(range(20)))
    assert sorted(results) == list(range(20))
    assert all(v[1][0] == i * i for i, v in results.items())
    assert os.getpid() not in {v[1][1] for v in results.values()}


def test_a_worker_that_dies_fails_only_its_item_and_is_replaced():
    def work(i):
        if i == 3:
            os._exit(7)
        if i == 5:
            os.kill(os.getpid(), signal.SIGKILL)
        return "ok", i

    with ForkPool(work, 2) as pool:
        results = dict(pool.map_unordered(range(8)))
    assert results[3] == ("failed", ("the process running it died (exit code 7)", ""))
    assert results[5] == ("failed", ("the process running it died (killed by SIGKILL)", ""))
    assert {i: r for i, r in results.items() if i not in (3, 5)} == {
        i: ("ok", i) for i in (0, 1, 2, 4, 6, 7)
    }


@pytest.mark.timeout(30)
def test_ctrl_c_terminates_busy_workers_at_once(tmp_path):
    def work(i):
        (tmp_path / str(i)).write_text(str(os.getpid()))
        time.sleep(60)
        return "ok", i

    # Ctrl-C as the terminal sends it to this process, two seconds into the run
    previous = signal.signal(signal.SIGALRM, lambda *_: os.kill(os.getpid(), signal.SIGINT))
    signal.alarm(2)
    t0 = time.monotonic()
    try:
        with pytest.raises(KeyboardInterrupt):
            with ForkPool(work, 2) as pool:
                for _ in pool.map_unordered(range(4)):
                    pass
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    pids = [int(p.read_text()) for p in tmp_path.iterdir()]
    assert len(pids) == 2
    assert not any(_alive(p) for p in pids)
    assert time.monotonic() - t0 < 10
