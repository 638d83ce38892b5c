"""
The resources every batch backend asks for in the same words: :class:`ResourceJobConfig`
(``walltime``, ``memory``, ``cpus``, ``gpus``) is what ``slurm_job_config``, ``sge_job_config``
and ``lsf_job_config`` hooks change, whatever the batch system calls them (``--time``,
``h_rt``, ``-W``; ``--mem``, ``h_vmem``, ``-M``), so that a retry policy can raise memory or
walltime without knowing the backend. :func:`read_resources` fills them from a law.cfg section,
:func:`config_megabytes` reads a memory value.
"""

from __future__ import annotations

import math
import shlex
from dataclasses import dataclass
from typing import Any, ClassVar

from pipekit.errors import UsageError
from pipekit.humanize import parse_bytes
from pipekit.job.base import JobConfig

__all__ = ["ResourceJobConfig", "read_resources", "config_megabytes"]


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
