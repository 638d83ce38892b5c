"""Concurrency in tests: how many things ran at the same moment, and forked racers."""

from __future__ import annotations

import multiprocessing
from typing import Iterable

__all__ = ["most_at_once", "in_forked_children"]


def most_at_once(intervals: Iterable[tuple[float, float]]) -> int:
    """The largest number of ``(start, end)`` intervals that overlap at one moment."""
    events = sorted(e for start, end in intervals for e in ((start, 1), (end, -1)))
    now = peak = 0
    for _, step in events:  # at equal times an end (-1) sorts before a start
        now += step
        peak = max(peak, now)
    return peak


def in_forked_children(n: int, body, timeout: float = 90) -> list:
    """
    ``body(i, barrier)`` in *n* processes forked from this one, as LocalWorkflow forks its
    workers (``barrier.wait()`` lines them up); what they return, in the order they finish.
    """
    ctx = multiprocessing.get_context("fork")
    barrier, queue = ctx.Barrier(n), ctx.Queue()
    procs = [ctx.Process(target=lambda i=i: queue.put(body(i, barrier))) for i in range(n)]
    for p in procs:
        p.start()
    try:
        return [queue.get(timeout=timeout) for _ in procs]
    finally:
        for p in procs:
            p.join(timeout=5)
            if p.is_alive():
                p.kill()
