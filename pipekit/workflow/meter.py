"""
What one branch costs, measured in the process that runs it: :class:`BranchMeter` takes wall
time, CPU time and peak memory with two ``getrusage`` calls around the branch, no extra process.

Peak memory is the process's peak resident set size. On Linux the meter resets that peak when
the branch starts (``/proc/self/clear_refs``) and reads it from ``/proc/self/status`` (VmHWM)
when it ends, so each branch gets its own peak even when one process runs many branches one
after another; where the reset is not allowed the value is ``ru_maxrss``, the process's peak so
far (an upper bound), and the measurement says so (``"peak": "process"``). A branch run in a
forked worker counts the pages it shares with the workflow process, as RSS does. CPU time
includes children the branch started and waited for.
"""

from __future__ import annotations

import os
import resource
import socket
import time
from typing import Any

__all__ = ["BranchMeter", "process_usage", "reset_peak_rss", "HOST"]

HOST = socket.gethostname()
_CLEAR_REFS = "/proc/self/clear_refs"
_can_reset: bool | None = None


def reset_peak_rss() -> bool:
    """Reset this process's peak RSS to its current RSS (Linux >= 4.0); False when not possible."""
    global _can_reset
    if _can_reset is False:
        return False
    try:
        with open(_CLEAR_REFS, "w") as f:
            f.write("5")
        _can_reset = True
    except OSError:
        _can_reset = False
    return _can_reset


def _hwm_kib() -> int | None:
    """
    This process's peak RSS from ``/proc/self/status`` (VmHWM, what the reset lowers). Not
    ``ru_maxrss``: that never drops below the RSS of the process this one was forked from when
    it exec'd (a job started by a 300 MB pytest would report 300 MB for every branch).
    """
    try:
        with open("/proc/self/status", "rb") as f:
            for line in f:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def _cpu(ru: Any) -> float:
    return ru.ru_utime + ru.ru_stime


def process_usage() -> dict[str, float]:
    """CPU seconds and peak RSS (MB) of this process and its waited-for children so far."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    own = _hwm_kib() if _can_reset is not False else None  # VmHWM: see _hwm_kib
    return {"cpu_s": round(_cpu(me) + _cpu(kids), 3),
            "maxrss_mb": round(max(own if own is not None else me.ru_maxrss, kids.ru_maxrss) / 1024.0, 1)}


class BranchMeter:
    """
    Started when a branch starts; :meth:`stop` returns its measurement: ``start`` and ``end``
    (epoch seconds), ``cpu_s``, ``maxrss_mb``, ``host``, ``pid`` and ``peak`` ("branch" or
    "process", see the module docstring).
    """

    __slots__ = ("start", "_self", "_kids", "_peak")

    def __init__(self) -> None:
        self._peak = "branch" if reset_peak_rss() else "process"
        self._self = resource.getrusage(resource.RUSAGE_SELF)
        self._kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.start = time.time()

    def stop(self) -> dict[str, Any]:
        end = time.time()
        me = resource.getrusage(resource.RUSAGE_SELF)
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = _cpu(me) - _cpu(self._self) + _cpu(kids) - _cpu(self._kids)
        hwm = _hwm_kib() if self._peak == "branch" else None
        peak_kib = hwm if hwm is not None else me.ru_maxrss
        if kids.ru_maxrss > self._kids.ru_maxrss:  # a child of this branch set a new peak
            peak_kib = max(peak_kib, kids.ru_maxrss)
        return {"start": round(self.start, 3), "end": round(end, 3), "cpu_s": round(cpu, 3),
                "maxrss_mb": round(peak_kib / 1024.0, 1), "host": HOST, "pid": os.getpid(),
                "peak": self._peak}
