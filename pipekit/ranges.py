"""
Integer ranges as users type them on the command line: ``0-9,15`` (inclusive), ``0:10``
(end excluded, as in Python), open ends ``:10`` and ``5:``, and the reverse, joining a sorted list
of integers back into the shortest such string.
"""

from __future__ import annotations

from typing import Iterable, Sequence

from pipekit.errors import ParameterError

__all__ = ["parse_ranges", "expand_ranges", "join_ranges", "OPEN"]

#: marks an open edge of a range
OPEN = None


def parse_ranges(text: str) -> tuple[tuple, ...]:
    """
    Parse ``"0-9,15,20:30,40:"`` into a tuple of ranges, each ``(value,)`` or
    ``(start, end_exclusive)`` where either edge may be :data:`OPEN`.
    """
    out: list[tuple] = []
    for part in (p.strip() for p in str(text).split(",")):
        if not part:
            continue
        try:
            if ":" in part:
                a, b = part.split(":", 1)
                out.append((int(a) if a.strip() else OPEN, int(b) if b.strip() else OPEN))
            elif "-" in part[1:]:
                a, b = part.split("-", 1)
                out.append((int(a) if a.strip() else OPEN, (int(b) + 1) if b.strip() else OPEN))
            else:
                out.append((int(part),))
        except ValueError:
            raise ParameterError(
                f"cannot read '{part}' as a branch range; use N, A-B (B included), "
                "A:B (B excluded), A: or :B"
            ) from None
    return tuple(out)


def expand_ranges(ranges: Iterable[Sequence], min_value: int = 0, max_value: int | None = None) -> list[int]:
    """
    The sorted unique integers covered by *ranges*. Open starts begin at *min_value*, open ends
    stop after *max_value* (inclusive) which is then required.
    """
    values: set[int] = set()
    for r in ranges:
        if len(r) == 1:
            values.add(int(r[0]))
            continue
        start, end = r
        start = min_value if start is OPEN else start
        if end is OPEN:
            if max_value is None:
                raise ParameterError(f"open range {start}: needs a known maximum")
            end = max_value + 1
        values.update(range(start, end))
    return sorted(values)


def join_ranges(values: Iterable[int], max_ranges: int | None = None) -> str:
    """
    ``[0,1,2,3,7,9,10]`` -> ``"0-3,7,9-10"``; with *max_ranges*, at most that many ranges are
    shown and the middle is elided (``"0-3,...,9-10"``).
    """
    vals = sorted(set(values))
    parts: list[str] = []
    i = 0
    while i < len(vals):
        j = i
        while j + 1 < len(vals) and vals[j + 1] == vals[j] + 1:
            j += 1
        parts.append(str(vals[i]) if i == j else f"{vals[i]}-{vals[j]}")
        i = j + 1
    if max_ranges and len(parts) > max_ranges:
        # show at most max_ranges ranges: the first half (rounded up) and the last half
        head = (max_ranges + 1) // 2
        tail = max_ranges - head
        parts = parts[:head] + ["..."] + (parts[-tail:] if tail else [])
    return ",".join(parts)
