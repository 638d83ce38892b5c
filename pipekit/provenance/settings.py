"""
Whether provenance is recorded and checked, and how: ``[core] provenance`` and the
``[provenance]`` section of law.cfg, and the per-class switch ``track_provenance``.

::

    [core]
    provenance: True          # record what made every output (default: False)

    [provenance]
    checksum: False           # also record a checksum of every input (adler32 locally, the
                              # server's checksum remotely); a touched but unchanged input then
                              # does not make its dependents outdated

A task class sets ``track_provenance = True`` (or ``False``) to decide for itself, whatever the
configuration says. Inside a sandbox nothing is recorded: the outer process records the run,
because in container sandboxes the inner process sees staged copies of the outputs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

__all__ = ["ProvenanceSettings", "settings", "tracks", "any_tracking", "makes_outputs"]


@dataclass(frozen=True)
class ProvenanceSettings:
    """The provenance options of the current configuration."""

    #: ``[core] provenance``
    enabled: bool = False
    #: ``[provenance] checksum``
    checksum: bool = False


def settings() -> ProvenanceSettings:
    """The settings of the current configuration (read once per :class:`~pipekit.config.Config`)."""
    from pipekit.config import Config

    cfg = Config.instance()
    cached = cfg.__dict__.get("_pipekit_provenance")
    if cached is None:
        cached = ProvenanceSettings(
            enabled=bool(cfg.get_expanded_bool("core", "provenance", False)),
            checksum=bool(cfg.get_expanded_bool("provenance", "checksum", False)),
        )
        cfg.__dict__["_pipekit_provenance"] = cached
    return cached


def makes_outputs(task: Any) -> bool:
    """Whether *task* makes its outputs itself (a wrapper task's "outputs" are those of its
    requirements, an external task's are made elsewhere: neither gets records)."""
    import luigi

    from pipekit.task.base import ExternalTask, WrapperTask

    if isinstance(task, (luigi.WrapperTask, WrapperTask, luigi.ExternalTask, ExternalTask)):
        return False
    return getattr(task, "run", None) is not None


def tracks(task: Any) -> bool:
    """Whether outputs of *task* (an instance or a class) get provenance records."""
    if os.environ.get("LAW_SANDBOX_SWITCHED") == "1":
        return False  # the outer process records sandboxed runs
    own = getattr(task, "track_provenance", None)
    if own is not None:
        return bool(own)
    return settings().enabled


def any_tracking(tasks: Any) -> bool:
    """Whether any of *tasks* tracks provenance (decides whether a status check is worth it)."""
    return any(tracks(t) for t in tasks)
