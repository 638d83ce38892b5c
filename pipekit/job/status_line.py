"""
:class:`StatusLine`: the one live line a remote workflow shows while it polls — job counts per
state and a progress bar. On a terminal the line is rewritten in place; otherwise (logs, CI) a
new line is printed only when the counts change, so a log of a long run stays short.
"""

from __future__ import annotations

import sys
import time
from typing import IO, Any

__all__ = ["StatusLine", "format_counts"]

_ORDER = ("submitting", "pending", "running", "unknown", "retry", "finished", "failed")


def format_counts(counts: dict[str, int]) -> str:
    """``"3 pending, 10 running, 180 finished"`` in a fixed state order (zeros left out)."""
    parts = [f"{counts[s]} {s}" for s in _ORDER if counts.get(s)]
    parts += [f"{n} {s}" for s, n in sorted(counts.items()) if s not in _ORDER and n]
    return ", ".join(parts) or "no jobs"


class StatusLine:
    """Prints the state of *n_jobs* jobs and *n_branches* branches of one workflow."""

    def __init__(self, label: str, stream: IO[str] | None = None, tty: bool | None = None,
                 width: int = 24):
        self.label = label
        self.stream = stream or sys.stdout
        self.tty = self.stream.isatty() if tty is None else tty
        self.width = width
        self.t0 = time.time()
        self._last = ""
        self._open = False

    def text(self, counts: dict[str, int], branches_done: int, branches_total: int) -> str:
        frac = branches_done / branches_total if branches_total else 1.0
        bar = ""
        if self.tty:
            full = int(round(frac * self.width))
            bar = " [" + "#" * full + "-" * (self.width - full) + "]"
        elapsed = int(time.time() - self.t0)
        return (f"{self.label}: {format_counts(counts)} | branches {branches_done}/{branches_total}"
                f"{bar} {100 * frac:.0f}% | {elapsed // 60:d}:{elapsed % 60:02d}")

    def update(self, counts: dict[str, int], branches_done: int, branches_total: int) -> str:
        line = self.text(counts, branches_done, branches_total)
        key = line.rsplit(" | ", 1)[0]  # the elapsed time alone is no reason for a new line
        if self.tty:
            self.stream.write("\r\033[K" + line)
            self._open = True
        elif key != self._last:
            self.stream.write(line + "\n")
        self._last = key
        self.stream.flush()
        return line

    def close(self) -> None:
        """End the live line so that following output starts on a new line."""
        if self._open:
            self.stream.write("\n")
            self.stream.flush()
            self._open = False

    def __enter__(self) -> StatusLine:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
