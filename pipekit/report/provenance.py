"""
"What made each output" for the run report: the integration point with pipekit's provenance
records (``[core] provenance: True``; ``pipekit/provenance/``, issue 16).

The report asks :func:`provenance_of` for the record of each output it shows. It looks for a
reader in :mod:`pipekit.provenance` — a function ``read_record(target_or_path)`` (or
``record_for`` / ``load_record``) that returns the record as a mapping, or None for an output
without one — and shows the fields it knows (:data:`SHOWN`) in that order, the rest after them.
Without a provenance package, or with provenance off, the report says so instead of guessing.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable

__all__ = ["provenance_reader", "provenance_of", "SHOWN"]

#: record fields shown first, with their labels
SHOWN = (
    ("family", "task"), ("params", "parameters"), ("code", "code"), ("code_hash", "code"),
    ("version", "version"), ("inputs", "inputs"), ("git", "git"), ("git_commit", "git commit"),
    ("host", "host"), ("start", "start"), ("end", "end"), ("versions", "versions"),
    ("sandbox", "sandbox"),
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
