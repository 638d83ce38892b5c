"""
What batch systems call their job states, mapped onto pipekit's status model and failure
reasons (:mod:`pipekit.job.base`): one :class:`StateVocabulary` per batch system, so that the
loop, the ledger, retry policies and reports see ``failed`` / ``oom`` whether Slurm said
``OUT_OF_MEMORY``, LSF ``TERM_MEMLIMIT`` or Grid Engine ``failed 37`` with an ``h_vmem`` limit.

A vocabulary is data: :meth:`StateVocabulary.rows` lists it for the documentation, and every
backend answers "what does this native state mean" through :meth:`StateVocabulary.lookup`.
Signals are shared too: :func:`signal_exit_code` writes ``128 + N`` the way shells do.
"""

from __future__ import annotations

import signal
from dataclasses import dataclass
from typing import Callable, Iterable

from pipekit.job.base import (
    CANCELLED,
    EXIT_CODE,
    FAILED,
    FAILURE_REASONS,
    FINISHED,
    PENDING,
    RUNNING,
    UNKNOWN,
)

__all__ = ["NativeState", "StateVocabulary", "signal_exit_code", "signal_name",
           "reason_of_signal"]

_STATUSES = (PENDING, RUNNING, FINISHED, FAILED, UNKNOWN)


@dataclass(frozen=True)
class NativeState:
    """One native state: pipekit's status for it and, for a failure, the reason."""

    name: str
    status: str
    reason: str | None = None
    #: what the batch system means by it, in words (for the documentation)
    meaning: str = ""


class StateVocabulary:
    """
    The native job states of one batch system (*system*, for messages) and what they mean.
    *states* maps a status to ``{native name: reason or None}`` (or to ``{name: (reason,
    meaning)}``); *normalize* turns what a command printed into a name of the table (default:
    the first word, upper case, without a trailing ``+``, as Slurm prints ``CANCELLED+``).
    """

    def __init__(self, system: str, states: dict[str, dict[str, object]],
                 normalize: Callable[[str], str] | None = None):
        self.system = system
        self._normalize = normalize or _first_word
        self._states: dict[str, NativeState] = {}
        for status, natives in states.items():
            if status not in _STATUSES:
                raise ValueError(f"{system}: {status!r} is not a pipekit job status")
            for name, value in natives.items():
                reason, meaning = value if isinstance(value, tuple) else (value, "")
                if reason is not None and reason not in FAILURE_REASONS:
                    raise ValueError(f"{system}: {reason!r} is not a failure reason")
                self._states[name] = NativeState(name, status, reason, meaning)

    def lookup(self, native: str) -> NativeState | None:
        """The meaning of *native* as a command printed it; None for a state not in the table."""
        return self._states.get(self._normalize(native or ""))

    def status(self, native: str) -> str | None:
        """pipekit's status for *native* (None: unknown state)."""
        state = self.lookup(native)
        return state.status if state else None

    def reason(self, native: str) -> str | None:
        """The failure reason of *native*: its own, :data:`EXIT_CODE` for another failed state,
        None for states that are not failures or unknown."""
        state = self.lookup(native)
        if state is None or state.status != FAILED:
            return None
        return state.reason or EXIT_CODE

    def names(self) -> list[str]:
        return list(self._states)

    def rows(self) -> Iterable[NativeState]:
        """Every native state of the table, in the order given (for docs and tests)."""
        return list(self._states.values())


def _first_word(native: str) -> str:
    word = native.strip().split(" ")[0] if native.strip() else ""
    return word.rstrip("+").upper()


def signal_exit_code(sig: int) -> int:
    """The exit code a shell reports for a process killed by signal *sig* (``128 + sig``)."""
    return 128 + int(sig)


def signal_name(code: int | None) -> str | None:
    """``"SIGKILL"`` for exit code 137 (``128 + 9``); None when *code* is not a signal's."""
    if code is None or code <= 128 or code > 128 + 64:
        return None
    try:
        return signal.Signals(code - 128).name
    except ValueError:
        return f"signal {code - 128}"


def reason_of_signal(code: int | None) -> str | None:
    """
    A failure reason a bare exit code implies: killed by SIGKILL or SIGTERM without any
    other evidence reads as :data:`CANCELLED` (what ``scancel`` / ``qdel`` / ``bkill`` do),
    anything else non-zero as :data:`EXIT_CODE`; None for success or no code.
    """
    if not code:
        return None
    if code in (signal_exit_code(signal.SIGKILL), signal_exit_code(signal.SIGTERM)):
        return CANCELLED
    return EXIT_CODE
