"""
Provenance: what made every output, and which outputs are outdated.

Opt-in with ``[core] provenance: True`` in law.cfg (or ``track_provenance = True`` on a task
class). When a task or branch finishes, a :class:`Record` is kept for each of its outputs in one
small file per output directory (:mod:`pipekit.provenance.store`); ``--print-status`` then
shows which outputs are outdated and why (:mod:`pipekit.provenance.check`), ``--rerun-outdated``
re-runs them, and ``pipekit provenance PATH`` prints one record. See docs/provenance.md.

The read API, for reports and scripts (all accept a target, a local path or a URI)::

    from pipekit import provenance

    rec = provenance.read_record("data/hists/hist_3.json")       # Record or None
    rec.family, rec.params, rec.branch, rec.code, rec.inputs, rec.git, rec.start, rec.end
    rec.to_dict()                                                # JSON-ready

    recs = provenance.read_directory("data/hists")              # {file name: Record}
    verdict = provenance.check("data/hists/hist_3.json")        # Verdict
    verdict.status, verdict.reasons                              # "outdated", ["code changed (...)"]
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "read_record",
    "read_directory",
    "check",
    "tracks",
    "settings",
    "Record",
    "InputState",
    "FileState",
    "Verdict",
    "ProvenanceCheck",
    "STORE_NAME",
]

_LAZY = {
    "Record": "pipekit.provenance.record",
    "InputState": "pipekit.provenance.record",
    "FileState": "pipekit.provenance.fingerprint",
    "Verdict": "pipekit.provenance.check",
    "ProvenanceCheck": "pipekit.provenance.check",
    "STORE_NAME": "pipekit.provenance.store",
    "tracks": "pipekit.provenance.settings",
    "settings": "pipekit.provenance.settings",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'pipekit.provenance' has no attribute '{name}'")
    import importlib

    return getattr(importlib.import_module(module), name)


def _target(target_or_path: Any) -> Any:
    if isinstance(target_or_path, str):
        from pipekit.provenance.locate import target_for

        return target_for(target_or_path)
    return target_or_path


def read_record(target_or_path: Any) -> Any:
    """The :class:`Record` of one output (a target, local path or URI); None without one."""
    from pipekit.provenance.fingerprint import file_key
    from pipekit.provenance.store import read_store

    t = _target(target_or_path)
    return read_store(t.fs, t.dirname).record(t.basename, file_key(t))


def read_directory(directory: Any) -> dict[str, Any]:
    """``{file name: Record}`` of every output recorded in *directory* (a directory target,
    local path or URI), also for files that no longer exist."""
    from pipekit.provenance.store import read_store

    d = _target(directory) if isinstance(directory, str) else directory
    store = read_store(d.fs, d.path)
    key = d.path if not hasattr(d.fs, "file_interface") else d.uri()
    return {name: store.record(name, f"{key.rstrip('/')}/{name}") for name in store.outputs}


def check(target_or_path: Any) -> Any:
    """The :class:`Verdict` of one output judged from its record and the current code."""
    from pipekit.provenance.check import ProvenanceCheck

    return ProvenanceCheck().target_verdict(_target(target_or_path))
