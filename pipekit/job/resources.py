"""
The resources every batch backend asks for in the same words: :class:`ResourceJobConfig`
(``walltime``, ``memory``, ``cpus``, ``gpus``) is what ``slurm_job_config``, ``sge_job_config``
and ``lsf_job_config`` hooks change, whatever the batch system calls them (``--time``,
``h_rt``, ``-W``; ``--mem``, ``h_vmem``, ``-M``), so that a retry policy can raise memory or
walltime without knowing the backend. :func:`read_resources` fills them from a law.cfg section,
:func:`config_megabytes` reads a memory value. :func:`requested_resources` is what a
submission requested, as the ledger keeps it for the run report.
"""

from __future__ import annotations

import math
import shlex
from dataclasses import dataclass
from typing import Any, ClassVar

from pipekit.errors import UsageError
from pipekit.humanize import parse_bytes
from pipekit.job.base import JobConfig

__all__ = ["ResourceJobConfig", "read_resources", "config_megabytes", "requested_resources"]


@dataclass
class ResourceJobConfig(JobConfig):
    """:class:`JobConfig` plus the resources of one job (None: the cluster's default)."""

    #: time limit per job: seconds, or a duration such as "2h" or "01:30:00"
    walltime: Any = None
    #: memory per job: "2G", "500M", "1.5GB", or a number of megabytes
    memory: Any = None
    cpus: int | None = None
    gpus: int | None = None

    # what the retry policy (pipekit.job.retry) scales after out-of-memory / time-limit failures
    memory_field: ClassVar[str | None] = "memory"
    walltime_field: ClassVar[str | None] = "walltime"


def config_megabytes(value: Any, what: str) -> int:
    """
    A memory value from a job config in whole megabytes (rounded up, at least 1): a number is
    megabytes (as sbatch --mem reads it), a string may carry a unit ("2G", "500MB", "1.5 GiB").
    A :class:`UsageError` naming *what* otherwise.
    """
    try:
        mb = parse_bytes(value, input_unit="MB", unit="MB")
    except ValueError:
        raise UsageError(f"cannot read the {what} {value!r}; use e.g. 2048, '500M' or '2G'") from None
    if mb <= 0:
        raise UsageError(f"the {what} {value!r} must be positive")
    return max(1, math.ceil(mb - 1e-9))


def read_resources(config: ResourceJobConfig, section: str, args_option: str) -> ResourceJobConfig:
    """
    Fill *config* from ``[section]`` of law.cfg: ``walltime``, ``memory``, ``cpus``, ``gpus``
    and *args_option* (extra arguments of the submit command, split like a shell would).
    """
    from pipekit.config import Config

    cfg = Config.instance()
    config.walltime = cfg.get_expanded(section, "walltime", None)
    config.memory = cfg.get_expanded(section, "memory", None)
    config.cpus = cfg.get_expanded_int(section, "cpus", None)
    config.gpus = cfg.get_expanded_int(section, "gpus", None)
    raw = cfg.get_expanded(section, args_option, None) or ""
    try:
        config.extra_args = shlex.split(raw)
    except ValueError as e:
        raise UsageError(f"[{section}] {args_option} in law.cfg cannot be read ({e}): {raw!r}; "
                         "fix its quotes") from None
    return config


def requested_resources(config: Any) -> dict[str, float]:
    """
    What a submission asked the batch system for, in one vocabulary for every backend:
    ``{"memory_mb", "walltime_s", "cpus"}`` read from the resource fields a job config has
    (``memory``, ``walltime`` or HTCondor's ``max_runtime``, ``cpus``), leaving out what it
    does not set or what cannot be read (the backend refuses that with its own message). The
    job loop keeps it with each submission in the ledger, so that the run report can set what
    jobs used against what they requested.
    """
    from pipekit.job.base import config_seconds

    out: dict[str, float] = {}
    memory = getattr(config, "memory", None)
    if memory not in (None, ""):
        try:
            out["memory_mb"] = float(config_megabytes(memory, "memory"))
        except UsageError:
            pass
    limit = getattr(config, "walltime", None) or getattr(config, "max_runtime", None)
    if limit:
        try:
            out["walltime_s"] = float(config_seconds(limit, "walltime"))
        except UsageError:
            pass
    cpus = getattr(config, "cpus", None)
    if cpus:
        out["cpus"] = float(cpus)
    return out
