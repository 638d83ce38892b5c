"""
How failed jobs are retried, for every batch system: :class:`RetryPolicy` decides which failures
use up ``--retries`` (preemptions and evictions do not) and how a job's memory and time-limit
requests grow after it ran out of them (``--retry-memory-factor``, ``--retry-walltime-factor``,
with caps). The loop groups retries by their escalation (:func:`escalation_key`), so one
submission asks for one memory and one time limit; the remote workflow applies the policy to
the job config after the user's ``<type>_job_config`` hook ran (:meth:`RetryPolicy.apply`).

The n-th out-of-memory failure of a job multiplies its memory request by ``memory_factor ** n``
(counted over all its attempts, so a job that ran out of memory, then of time, keeps its larger
memory), capped at ``memory_max``; walltime likewise.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from pipekit.errors import UsageError
from pipekit.humanize import human_duration, parse_bytes
from pipekit.job.base import (
    EVICTED,
    EXIT_CODE,
    FAILED,
    OOM,
    PREEMPTED,
    WALLTIME,
    JobAttempt,
    JobConfig,
    config_seconds,
)

__all__ = ["RetryPolicy", "failure_reasons", "escalation_key", "read_log_tail"]


def failure_reasons(job: Any) -> list[str]:
    """The failure reasons of a ledger job's attempts so far, oldest first (latest included)."""
    reasons = [h.get("reason") or EXIT_CODE for h in job.history if h.get("state") == FAILED]
    if job.attempt and job.state == FAILED:
        reasons.append(job.reason or EXIT_CODE)
    return reasons


def escalation_key(job: Any) -> tuple[int, int]:
    """(out-of-memory failures, time-limit failures) of a ledger job: retries with the same key
    ask for the same resources and may share a submission."""
    reasons = failure_reasons(job)
    return reasons.count(OOM), reasons.count(WALLTIME)


def read_log_tail(path: str | None, size: int = 16384) -> str:
    """The last *size* bytes of the log at *path* as text ("" when it cannot be read)."""
    if not path:
        return ""
    try:
        with open(path, "rb") as f:
            f.seek(max(0, os.fstat(f.fileno()).st_size - size))
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


@dataclass
class RetryPolicy:
    """Which failures count against ``--retries`` and how resources grow (module docstring)."""

    #: memory request multiplier per earlier out-of-memory failure (1: keep the request)
    memory_factor: float = 1.5
    #: time-limit multiplier per earlier time-limit failure (1: keep the request)
    walltime_factor: float = 2.0
    #: largest memory request in MB (None: no cap)
    memory_max: float | None = None
    #: longest time limit in seconds (None: no cap)
    walltime_max: float | None = None
    #: failure reasons that do not use up ``--retries``
    free_reasons: tuple[str, ...] = (PREEMPTED, EVICTED)
    #: resubmissions per job for free reasons before they count like any other failure
    max_free_retries: int = 10

    @classmethod
    def from_values(cls, memory_factor: Any = None, walltime_factor: Any = None,
                    memory_max: Any = None, walltime_max: Any = None,
                    max_free_retries: Any = None) -> RetryPolicy:
        """A policy from command-line or law.cfg values (None: the default), checked."""
        policy = cls()
        for name, value in (("memory_factor", memory_factor), ("walltime_factor", walltime_factor)):
            if value is None:
                continue
            try:
                factor = float(value)
            except (TypeError, ValueError):
                factor = -1.0
            if factor < 1.0:
                raise UsageError(f"--retry-{name.replace('_', '-')} {value!r} must be a number of "
                                 "at least 1 (1 keeps the request unchanged)")
            setattr(policy, name, factor)
        if memory_max not in (None, ""):
            try:
                policy.memory_max = parse_bytes(memory_max, input_unit="MB", unit="MB")
            except ValueError:
                raise UsageError(f"--retry-memory-max {memory_max!r} is not a memory size; use "
                                 "e.g. 16G or 16000 (MB)") from None
        if walltime_max not in (None, ""):
            policy.walltime_max = float(config_seconds(walltime_max, "--retry-walltime-max"))
        if max_free_retries is not None:
            policy.max_free_retries = max(0, int(max_free_retries))
        return policy

    def is_free(self, reason: str | None) -> bool:
        """Whether a failure for *reason* leaves ``--retries`` untouched."""
        return reason in self.free_reasons

    def apply(self, config: JobConfig) -> list[str]:
        """
        Scale the memory and time-limit requests of *config* for the earlier failures of its
        jobs (``config.jobs``; the loop submits jobs of one escalation together). Returns what
        changed, in words, for the message that announces the resubmission.
        """
        if not config.adapt_resources or not config.jobs:
            return []
        first: JobAttempt = next(iter(config.jobs.values()))
        n_oom, n_wall = first.reasons.count(OOM), first.reasons.count(WALLTIME)
        notes = []
        if n_oom and self.memory_factor > 1:
            notes.append(self._scale_memory(config, self.memory_factor ** n_oom))
        if n_wall and self.walltime_factor > 1:
            notes.append(self._scale_walltime(config, self.walltime_factor ** n_wall))
        return [n for n in notes if n]

    def _scale_memory(self, config: JobConfig, factor: float) -> str:
        name = config.memory_field
        value = getattr(config, name, None) if name else None
        if value in (None, ""):
            return ("no memory request to raise after running out of memory (set one: memory in "
                    "the batch system's section of law.cfg, or config.memory in the job-config "
                    "hook)" if name else "")
        try:
            mb = parse_bytes(value, input_unit="MB", unit="MB")
        except ValueError:
            raise UsageError(f"cannot read the memory request {value!r}; use e.g. 2G or 2000 (MB)") from None
        new = mb * factor
        if self.memory_max is not None:
            new = min(new, max(mb, self.memory_max))
        if int(new) <= int(mb):
            return f"memory stays {value} (at --retry-memory-max)"
        setattr(config, name, config.format_memory(int(new + 0.999)))
        return f"memory {value} -> {getattr(config, name)}"

    def _scale_walltime(self, config: JobConfig, factor: float) -> str:
        name = config.walltime_field
        value = getattr(config, name, None) if name else None
        if value in (None, ""):
            return "no time limit to raise after running out of time" if name else ""
        seconds = config_seconds(value, "time limit")
        new = seconds * factor
        if self.walltime_max is not None:
            new = min(new, max(seconds, self.walltime_max))
        if int(new) <= seconds:
            return f"time limit stays {human_duration(seconds)} (at --retry-walltime-max)"
        setattr(config, name, int(new))
        return f"time limit {human_duration(seconds)} -> {human_duration(int(new))}"

