"""
"What made each output" for the run report: the integration point with pipekit's provenance
records (``[core] provenance: True``; ``pipekit/provenance/``, issue 16).

The report asks :func:`provenance_of` for the record of each output it shows, through
:func:`pipekit.provenance.read_record` (a record, or None for an output without one), and shows
the fields it knows (:data:`SHOWN`) in that order, the rest after them. Each record is headed by
whether the output is current or outdated, and why (:func:`pipekit.provenance.check`, a verdict
with ``status`` and ``reasons``). Outputs without a record (provenance off, or made before it
was switched on) are said to have none instead of guessed at.
"""

from __future__ import annotations

from typing import Any, Callable

__all__ = ["provenance_reader", "provenance_checker", "provenance_of", "verdict_text", "SHOWN"]

#: record fields shown first, with their labels (those of pipekit.provenance.Record)
SHOWN = (
    ("status", "status"), ("task", "task"), ("family", "task"), ("params", "parameters"),
    ("branch", "branch"), ("version", "version"), ("code", "code"), ("inputs", "inputs"),
    ("git", "git"), ("software", "software"), ("host", "host"), ("start", "start"),
    ("end", "end"), ("job", "job"),
)


def provenance_reader() -> Callable[[Any], Any]:
    """The record reader: :func:`pipekit.provenance.read_record`."""
    from pipekit.provenance import read_record

    return read_record


def provenance_checker() -> Callable[[Any], Any]:
    """The verdict of one output: :func:`pipekit.provenance.check`."""
    from pipekit.provenance import check

    return check


def verdict_text(checker: Callable[[Any], Any], target: Any) -> str | None:
    """``"outdated: code changed (...)"``, ``"current"``, ...; None when it cannot be told."""
    try:
        verdict = checker(target)
    except Exception:  # judging needs the task's code; a report must not fail for it
        return None
    status = getattr(verdict, "status", None)
    if not status:
        return None
    reasons = list(getattr(verdict, "reasons", None) or [])
    return f"{status}: {'; '.join(map(str, reasons))}" if reasons else str(status)


def provenance_of(reader: Callable[[Any], Any], target: Any) -> dict[str, Any] | None:
    """The record of *target* as a plain dict (None: no record, or it cannot be read)."""
    try:
        record = reader(target)
    except Exception:  # a broken record must not break the report of a whole workflow
        return None
    if record is None:
        return None
    if hasattr(record, "to_dict"):
        record = record.to_dict()
    elif hasattr(record, "__dataclass_fields__"):
        import dataclasses

        record = dataclasses.asdict(record)
    return dict(record) if isinstance(record, dict) else {"record": str(record)}
