"""
What the batch systems with job arrays (Slurm, Grid Engine, LSF) share, so that each backend
only says how its commands are spelled and what they print:

- :class:`ArrayIds`: how a system writes the id of one array task (``12_3``, ``12.4``,
  ``12[4]``), which index the first task has (Slurm 0, Grid Engine and LSF 1), the index range
  and throttle of a submission, and the expansion of compressed index lists (``1-3,7``,
  ``2-10:2``, ``[1-3,7%2]``) that queue listings print.
- :class:`ArrayJobManager`: a :class:`~pipekit.job.base.BaseJobManager` with the poll logic
  every array backend follows. One queue listing per cycle for all arrays; tasks it no longer
  lists are asked from accounting (``sacct``, ``qacct``, ``bhist``) once per cycle, only while
  the cluster has accounting (learnt from the first answer, so it costs no extra command); a
  fallback per array when the queue listing itself failed. A lost submission is found again by
  job name, in the queue and then in accounting, asked a few times because accounting is
  written asynchronously. Commands run through :func:`pipekit.shell.run_command` with the
  ``command_timeout`` of the backend's law.cfg section; cancelling goes in chunks, so that
  command lines stay short whatever the number of jobs.
"""

from __future__ import annotations

import re
import time
from abc import abstractmethod
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from pipekit.config import Config
from pipekit.errors import CommandError, JobError
from pipekit.job.base import BaseJobManager, JobConfig, JobState, SubmissionPlan
from pipekit.shell import run_command

__all__ = ["ArrayIds", "ArrayJobManager", "expand_index_list"]


def expand_index_list(text: str) -> list[int]:
    """
    The indices of a compressed list as queue listings print them: ``"1-3,7"`` -> 1, 2, 3, 7;
    ``"2-10:4"`` (a step, Grid Engine) -> 2, 6, 10; a throttle suffix (``"1-5%2"``, Slurm and
    LSF) and surrounding brackets are ignored. Malformed parts are skipped.
    """
    text = text.strip().strip("[]").split("%")[0]
    out: list[int] = []
    for part in text.split(","):
        m = re.match(r"^\s*(\d+)(?:-(\d+)(?::(\d+))?)?\s*$", part)
        if not m:
            continue
        first = int(m.group(1))
        last = int(m.group(2)) if m.group(2) else first
        step = max(1, int(m.group(3))) if m.group(3) else 1
        out.extend(range(first, last + 1, step))
    return out


@dataclass(frozen=True)
class ArrayIds:
    """
    How one batch system names array tasks: ``f"{array}{sep}{index}{close}"`` (Slurm
    ``12_3``: ``sep="_"``; Grid Engine ``12.4``: ``sep="."``; LSF ``12[4]``: ``sep="["``,
    ``close="]"``) with the first task at index *first_index*.
    """

    sep: str
    close: str = ""
    first_index: int = 0

    def job_id(self, array: str, index: int) -> str:
        """The id of task *index* (the batch system's own index) of *array*."""
        return f"{array}{self.sep}{index}{self.close}"

    def ids(self, array: str, n: int) -> list[str]:
        """The ids of the *n* tasks of a submission, in plan order (plan index 0 first)."""
        return [self.job_id(array, self.first_index + i) for i in range(n)]

    def split(self, job_id: str) -> tuple[str, int | None]:
        """``(array, index)`` of *job_id*; index None for a job that is not an array task."""
        head, sep, tail = job_id.partition(self.sep)
        if not sep:
            return job_id, None
        tail = tail[:-len(self.close)] if self.close and tail.endswith(self.close) else tail
        return head, int(tail) if tail.isdigit() else None

    def array(self, job_id: str) -> str:
        return self.split(job_id)[0]

    def arrays(self, job_ids: Iterable[str]) -> list[str]:
        """The distinct arrays of *job_ids*, numerically sorted where they are numbers."""
        found = {self.array(i) for i in job_ids}
        return sorted(found, key=lambda a: (0, int(a), "") if a.isdigit() else (1, 0, a))

    def expand(self, array: str, index_list: str) -> list[str]:
        """The ids of the tasks *index_list* (``"1-3,7"``) of *array* names."""
        return [self.job_id(array, i) for i in expand_index_list(index_list)]

    def index_range(self, plan: SubmissionPlan) -> tuple[int, int]:
        """The first and last index of the tasks of *plan*."""
        return self.first_index, self.first_index + len(plan) - 1


class ArrayJobManager(BaseJobManager):
    """
    Base of the array backends (see the module docstring). A subclass sets :attr:`ids` and
    :attr:`config_section` and implements :meth:`submit_command`,
    :meth:`parse_submit_output`, :meth:`query_queue`, :meth:`find_in_queue` and
    :meth:`cancel_command`; :meth:`query_accounting`, :meth:`find_in_accounting`,
    :meth:`query_fallback` and :meth:`ask_max_array_size` are optional.
    """

    #: how the batch system names array tasks
    ids = ArrayIds("_")
    #: the law.cfg section of the backend (``command_timeout``, ``max_array_size``)
    config_section = ""
    #: the most job ids one cancel command names
    cancel_chunk = 500
    #: most tasks per array when the batch system cannot be asked
    default_max_array = 1000
    #: how often, and how many seconds apart, accounting is asked for a lost submission
    accounting_attempts = 5
    accounting_delay = 2.0

    def __init__(self, timeout: float | None = None, **kwargs: Any):
        cfg = Config.instance()
        section = self.config_section
        self.timeout = timeout or cfg.get_expanded_float(section, "command_timeout", 60.0)
        self._accounting: bool | None = None
        self._max_array: int | None = cfg.get_expanded_int(section, "max_array_size", None)

    @property
    def first_array_index(self) -> int:  # type: ignore[override]
        """The index of the first task of an array (Slurm 0, Grid Engine and LSF 1)."""
        return self.ids.first_index

    def run(self, cmd: list[str], check: bool = True) -> Any:
        """*cmd* through :func:`pipekit.shell.run_command` with the backend's timeout."""
        return run_command(cmd, timeout=self.timeout, check=check)

    # -- submitting -----------------------------------------------------------------------------

    @abstractmethod
    def parse_submit_output(self, stdout: str) -> str | None:
        """The array id in the output of the submit command (None: not found)."""

    def submit(self, plan: SubmissionPlan, script: str, config: JobConfig) -> list[str]:
        cmd = self.submit_command(plan, script, config)
        try:
            out = self.run(cmd).stdout.strip()
        except CommandError as e:
            raise JobError(f"{self.batch_system} refused submission {plan.tag} of {len(plan)} "
                           f"job(s): {e}") from None
        array = self.parse_submit_output(out)
        if not array:
            raise JobError(f"cannot read a job id from the output of {cmd[0]}: {out!r}")
        return self.ids.ids(array, len(plan))

    def max_jobs_per_submission(self) -> int | None:
        """The batch system's largest array (asked once; ``max_array_size`` in law.cfg skips it)."""
        if self._max_array is None:
            try:
                self._max_array = self.ask_max_array_size() or self.default_max_array
            except CommandError:
                self._max_array = self.default_max_array
        return max(1, self._max_array)

    def ask_max_array_size(self) -> int | None:
        """Ask the batch system for its largest array (None: use :attr:`default_max_array`)."""
        return None

    # -- querying -------------------------------------------------------------------------------

    def query(self, job_ids: Sequence[str]) -> dict[str, JobState]:
        wanted = set(job_ids)
        if not wanted:
            return {}
        try:
            result, queue_error = self.query_queue(self.ids.arrays(wanted))
            missing = wanted - set(result)
            if missing and self.has_accounting():
                result.update(self.query_accounting(self.ids.arrays(missing)))
                missing = wanted - set(result)
            if missing and queue_error:
                result.update(self.query_fallback(self.ids.arrays(missing), queue_error))
        except CommandError as e:  # a timeout, say: one failed poll, retried by the loop
            raise JobError(f"{self.batch_system} status query failed: {e}") from None
        return {i: s for i, s in result.items() if i in wanted}

    @abstractmethod
    def query_queue(self, arrays: list[str]) -> tuple[dict[str, JobState], str | None]:
        """
        The states of the tasks of *arrays* the queue lists, in one command, and None — or
        ``({}, error)`` when the listing failed (then :meth:`query_fallback` is asked).
        """

    def query_accounting(self, arrays: list[str]) -> dict[str, JobState]:
        """
        The states of tasks of *arrays* that left the queue, from accounting. Call
        :meth:`accounting_answered` with what the command said about accounting being there.
        """
        return {}

    def query_fallback(self, arrays: list[str], queue_error: str) -> dict[str, JobState]:
        """Answer for *arrays* after the queue listing failed; by default: cannot tell."""
        raise JobError(f"{self.batch_system} status query failed: {queue_error}")

    def has_accounting(self) -> bool:
        """
        False once accounting said it is not there (no slurmdbd, no accounting file); it is
        then not asked again. Learnt from the first real accounting call.
        """
        return self._accounting is not False

    def accounting_answered(self, present: bool) -> None:
        """Record whether the last accounting command found accounting switched on."""
        self._accounting = present

    # -- finding a submission whose ids were never recorded -------------------------------------

    @abstractmethod
    def find_in_queue(self, job_name: str) -> list[str]:
        """Ids of queued tasks named *job_name*; raise :class:`CommandError` when it cannot tell."""

    def find_in_accounting(self, job_name: str) -> list[str] | None:
        """Ids of ended tasks named *job_name* in accounting (None: no accounting)."""
        return None

    def find_submission(self, plan: SubmissionPlan) -> list[str] | None:
        try:
            ids = self.find_in_queue(plan.job_name)
        except CommandError as e:
            raise JobError(f"cannot tell whether submission {plan.tag} reached "
                           f"{self.batch_system}: {e}") from None
        if not ids and self.has_accounting():
            ids = self._find_in_accounting(plan.job_name)
        if not ids:
            return None
        return self.ids.ids(self.ids.array(ids[0]), len(plan))

    def _find_in_accounting(self, job_name: str) -> list[str]:
        """
        Accounting is written asynchronously (slurmdbd, Grid Engine's ``flush_time``): a job
        that ended seconds ago may not be there yet, so ask a few times before concluding that
        the submission never reached the batch system (which would submit it again).
        """
        for attempt in range(self.accounting_attempts):
            ids = self.find_in_accounting(job_name)
            if ids is None:
                return []
            if ids:
                return ids
            if attempt + 1 < self.accounting_attempts:
                time.sleep(self.accounting_delay)
        return []

    # -- cancelling -----------------------------------------------------------------------------

    @abstractmethod
    def cancel_command(self, job_ids: list[str]) -> list[str]:
        """The command that cancels *job_ids* (at most :attr:`cancel_chunk` of them)."""

    def cancel_refusal_is_harmless(self, stderr: str) -> bool:
        """Whether a failed cancel command only said that the jobs already ended."""
        return False

    def cancel(self, job_ids: Sequence[str]) -> None:
        ids = list(job_ids)
        for i in range(0, len(ids), self.cancel_chunk):
            cmd = self.cancel_command(ids[i:i + self.cancel_chunk])
            proc = self.run(cmd, check=False)
            if proc.returncode != 0 and not self.cancel_refusal_is_harmless(proc.stderr):
                raise JobError(f"{cmd[0]} failed: {CommandError(cmd, proc.returncode, proc.stderr)}")
