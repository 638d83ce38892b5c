"""
Paths that reach a batch system literally.

Batch systems read patterns in the file names of a job's output: Slurm replaces ``%j``, ``%a``,
``%x``, ... in ``--output`` (``%%`` is one ``%``), LSF ``%J`` and ``%I`` in ``-o`` (no escape),
SGE ``$JOB_ID``, ``$TASK_ID``, ``$HOME``, ... in ``-o`` (no escape), and HTCondor expands
``$(...)`` macros anywhere in a submit description (``$(DOLLAR)`` is one ``$``). A directory
called ``run_%j`` must not become ``run_1697``: every backend passes each path it gives the
batch system through :func:`literal_path` (or :func:`per_job_path` for a path that carries the
backend's own per-job index pattern), which escapes what can be escaped and refuses, naming the
path, what cannot.
"""

from __future__ import annotations

import re
from typing import Callable

from pipekit.errors import UsageError

__all__ = ["literal_path", "per_job_path", "BATCH_PATTERN_SYSTEMS", "SGE_PATH_VARIABLES",
           "LSF_PATH_PATTERNS"]

#: SGE's pseudo environment variables in -o/-e paths (qsub(1))
SGE_PATH_VARIABLES = re.compile(r"\$(HOME|USER|JOB_ID|JOB_NAME|HOSTNAME|TASK_ID)(?![A-Za-z0-9_])")
#: LSF's substitutions in -o/-e paths (bsub(1)); LSF has no escape for them
LSF_PATH_PATTERNS = re.compile(r"%[JI]")

#: a character that no path the batch system sees contains (stands for the per-job pattern)
_MARKER = "\x00"


def _slurm(path: str, what: str) -> str:
    return path.replace("%", "%%")


def _htcondor(path: str, what: str) -> str:
    return path.replace("$", "$(DOLLAR)")


def _refuse(pattern: re.Pattern, system: str) -> Callable[[str, str], str]:
    def check(path: str, what: str) -> str:
        m = pattern.search(path)
        if m:
            raise UsageError(
                f"the {what} {path} contains {m.group(0)!r}, which {system} replaces in job "
                "file names and cannot escape; use a directory without it"
            )
        return path

    return check


_ESCAPES: dict[str, Callable[[str, str], str]] = {
    "slurm": _slurm,
    "htcondor": _htcondor,
    "lsf": _refuse(LSF_PATH_PATTERNS, "LSF"),
    "sge": _refuse(SGE_PATH_VARIABLES, "SGE"),
}

#: the batch systems :func:`literal_path` knows (lower case)
BATCH_PATTERN_SYSTEMS = tuple(_ESCAPES)


def literal_path(path: str, system: str, what: str = "path") -> str:
    """
    *path* as *system* (``"slurm"``, ``"htcondor"``, ``"lsf"``, ``"sge"``) must be given it to
    read it verbatim in a job's output/error/log file name; a :class:`UsageError` naming *what*
    when the system cannot escape a pattern in it.
    """
    try:
        escape = _ESCAPES[system.lower()]
    except KeyError:
        raise ValueError(f"unknown batch system {system!r}; known: {', '.join(_ESCAPES)}") from None
    return escape(str(path), what)


def per_job_path(path_for: Callable[[str], str], index_pattern: str, system: str,
                 what: str = "path") -> str:
    """
    A per-job path such as ``plan.log_file`` with *index_pattern* (the batch system's own
    pattern for the job's index: Slurm ``%a``, LSF ``%I``, SGE ``$TASK_ID``, HTCondor
    ``$(pk_index)``) in place of the index, and every other character read verbatim.
    """
    path = path_for(_MARKER)
    if path.count(_MARKER) != 1:
        raise ValueError(f"{path_for!r} does not put the job index into its path exactly once")
    head, tail = path.split(_MARKER)
    return literal_path(head, system, what) + index_pattern + literal_path(tail, system, what)
