"""
"What made each output" for the run report: the integration point with pipekit's provenance
records (``[core] provenance: True``; ``pipekit/provenance/``, issue 16).

The report asks :func:`provenance_of` for the record of each output it shows. It looks for a
reader in :mod:`pipekit.provenance` — a function ``read_record(target_or_path)`` (or
``record_for`` / ``load_record``) that returns the record as a mapping, or None for an output
without one — and shows the fields it knows (:data:`SHOWN`) in that order, the rest after them.
Where the package also has ``check(target)`` (a verdict with ``status`` and ``reasons``), each
record is headed by whether the output is current or outdated, and why.
Without a provenance package, or with provenance off, the report says so instead of guessing.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable

__all__ = ["provenance_reader", "provenance_checker", "provenance_of", "verdict_text", "SHOWN"]

#: record fields shown first, with their labels (those of pipekit.provenance.Record)
SHOWN = (
    ("status", "status"), ("task", "task"), ("family", "task"), ("params", "parameters"),
    ("branch", "branch"), ("version", "version"), ("code", "code"), ("inputs", "inputs"),
    ("git", "git"), ("software", "software"), ("host", "host"), ("start", "start"),
    ("end", "end"), ("job", "job"),
)
_READERS = ("read_record", "record_for", "load_record")


def provenance_reader() -> Callable[[Any], Any] | None:
    """The provenance package's record reader, or None when this pipekit has none."""
    try:
        module = importlib.import_module("pipekit.provenance")
    except ImportError:
        return None
    for name in _READERS:
        fn = getattr(module, name, None)
        if callable(fn):
            return fn
    return None


def provenance_checker() -> Callable[[Any], Any] | None:
    """The provenance package's ``check(target)``, or None."""
    try:
        module = importlib.import_module("pipekit.provenance")
    except ImportError:
        return None
    fn = getattr(module, "check", None)
    return fn if callable(fn) else None


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
