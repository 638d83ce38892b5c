"""How many things ran at the same moment, from the intervals they recorded."""

from __future__ import annotations

from typing import Iterable

__all__ = ["most_at_once"]


def most_at_once(intervals: Iterable[tuple[float, float]]) -> int:
    """The largest number of ``(start, end)`` intervals that overlap at one moment."""
    events = sorted(e for start, end in intervals for e in ((start, 1), (end, -1)))
    now = peak = 0
    for _, step in events:  # at equal times an end (-1) sorts before a start
        now += step
        peak = max(peak, now)
    return peak
