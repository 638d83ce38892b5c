"""
Integer ranges as users type them on the command line: ``0-9,15`` (inclusive), ``0:10``
(end excluded, as in Python), open ends ``:10`` and ``5:``, and the reverse, joining a sorted list
of integers back into the shortest such string.
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

from pipekit.errors import ParameterError

__all__ = [
    "consecutive_runs",
    "parse_ranges",
    "expand_ranges",
    "join_ranges",
    "range_expand",
    "range_join",
    "OPEN",
]

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


def consecutive_runs(values: Iterable[int]) -> list[tuple[int, int]]:
    """``[0, 1, 2, 7, 9, 10]`` -> ``[(0, 2), (7, 7), (9, 10)]``: first and last of each run."""
    vals = sorted(set(values))
    runs: list[tuple[int, int]] = []
    for v in vals:
        if runs and v == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], v)
        else:
            runs.append((v, v))
    return runs


def join_ranges(values: Iterable[int], max_ranges: int | None = None) -> str:
    """
    ``[0,1,2,3,7,9,10]`` -> ``"0-3,7,9-10"``; with *max_ranges*, at most that many ranges are
    shown and the middle is elided (``"0-3,...,9-10"``).
    """
    parts = [str(a) if a == b else f"{a}-{b}" for a, b in consecutive_runs(values)]
    if max_ranges and len(parts) > max_ranges:
        # show at most max_ranges ranges: the first half (rounded up) and the last half
        head = (max_ranges + 1) // 2
        tail = max_ranges - head
        parts = parts[:head] + ["..."] + (parts[-tail:] if tail else [])
    return ",".join(parts)


# -- law's spelling (law.util.range_expand / range_join), for ported analyses ---------------------


def _range_items(spec: Any, sep: str) -> list[tuple]:
    """law's range input (``"1:4"``, ``(1, 4)``, ``5``, or a list of them) as tuples."""
    items = (
        [spec] if isinstance(spec, tuple) else (list(spec) if isinstance(spec, list) else [spec])
    )
    out: list[tuple] = []
    for item in items:
        if isinstance(item, (tuple, list)):
            if len(item) not in (1, 2):
                raise ValueError(f"a range tuple has one or two values, got {item!r}")
            out.append(tuple(item))
        elif sep in str(item):
            start, stop = str(item).split(sep, 1)
            out.append((start.strip() or None, stop.strip() or None))
        else:
            out.append((item,))
    return out


def _to_int(value: Any, spec: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValueError(f"invalid number or range {spec!r}") from None


def range_expand(
    spec: Any,
    include_end: bool = False,
    min_value: int | None = None,
    max_value: int | None = None,
    sep: str = ":",
) -> list[int]:
    """
    law's ``range_expand``: ``"5:8"`` -> ``[5, 6, 7]`` (end included with *include_end*), also
    ``(5, 8)``, single values and lists of these; open ends (``":8"``, ``"5:"``) need
    *min_value* / *max_value*, which also clip the result. Order kept, duplicates dropped.
    """
    numbers: list[int] = []
    for item in _range_items(spec, sep):
        if len(item) == 1:
            numbers.append(_to_int(item[0], item))
            continue
        start, stop = item
        if start is None and min_value is None:
            raise ValueError(f"range {item!r} without a start needs min_value")
        if stop is None and max_value is None:
            raise ValueError(f"range {item!r} without a stop needs max_value")
        a = _to_int(min_value if start is None else start, item)
        b = _to_int(max_value if stop is None else stop, item)
        a, b = min(a, b), max(a, b)
        numbers.extend(range(a, b + int(include_end)))
    unique = list(dict.fromkeys(numbers))
    if min_value is not None:
        unique = [n for n in unique if n >= min_value]
    if max_value is not None:
        unique = [n for n in unique if n < max_value + int(include_end)]
    return unique


def range_join(
    numbers: Iterable[Any],
    to_str: bool = False,
    include_end: bool = False,
    sep: str = ",",
    range_sep: str = ":",
) -> Any:
    """
    law's ``range_join``: ``[1, 2, 3, 5]`` -> ``[(1, 4), (5,)]`` (end excluded unless
    *include_end*), or ``"1:4,5"`` with *to_str*.
    """
    ranges = [(a,) if a == b else (a, b + int(not include_end))
              for a, b in consecutive_runs(_to_int(n, n) for n in numbers)]
    if to_str:
        return sep.join(str(r[0]) if len(r) == 1 else f"{r[0]}{range_sep}{r[1]}" for r in ranges)
    return ranges
