"""
What Grid Engine says about jobs, read into pipekit's status model. Pure functions, no commands
(:mod:`pipekit.batch.sge` runs them); written against Son of Grid Engine 8.1.9 and the formats
documented in ``qstat(1)``, ``accounting(5)`` and ``sge_status(5)``:

- :data:`SGE_STATES`: the state letters ``qstat`` prints (``qw``, ``hqw``, ``r``, ``t``, ``Rr``,
  ``s``, ``dr``, ``Eqw``, ...). The most telling letter decides: ``E`` (error) is failed, ``r`` /
  ``t`` running, ``s`` / ``S`` / ``T`` suspended (running), ``h`` / ``q`` / ``w`` pending. A task in
  deletion (``d``) stays what it was until it leaves the queue.
- :data:`SGE_FAILED`: the ``failed`` codes of ``qacct`` (accounting) and their failure reasons.
  Code 37 ("qmaster enforced h_rt, h_cpu, or h_vmem limit") is a walltime failure unless the
  memory used came close to an ``h_vmem`` request; code 100 ("assumedly after job": killed by a
  signal) likewise, else cancelled for SIGKILL/SIGTERM (what ``qdel`` sends).
- :func:`parse_qstat_xml` reads ``qstat -xml`` (one ``job_list`` per running task, and one per
  run of pending tasks with a compressed ``tasks`` list such as ``3-7:1`` or ``3,5``).
- :func:`parse_qacct` reads ``qacct -j`` (blocks of ``key value`` lines, one per task) and
  :func:`qacct_state` turns one block into a :class:`~pipekit.job.base.JobState`.
- :func:`parse_error_reasons` reads the ``error reason`` lines of ``qstat -j``.
- :func:`parse_qsub_output` and :func:`parse_version` read ``qsub -terse`` and ``qstat -help``.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from pipekit.errors import JobError
from pipekit.humanize import parse_duration
from pipekit.job.arrays import ArrayIds
from pipekit.job.base import (
    CANCELLED,
    EVICTED,
    EXIT_CODE,
    FAILED,
    FINISHED,
    NODE_FAILURE,
    OOM,
    PENDING,
    PREEMPTED,
    RUNNING,
    WALLTIME,
    JobState,
)
from pipekit.job.states import StateVocabulary, reason_of_signal, signal_name

__all__ = ["SGE_IDS", "SGE_STATES", "SGE_FAILED", "QueuedTask", "parse_qstat_xml",
           "parse_qacct", "qacct_state", "parse_error_reasons", "parse_qsub_output",
           "parse_version", "memory_bytes", "queued_state", "OOM_FRACTION"]

#: Grid Engine array task ids: ``<job number>.<task id>``, task ids from 1
SGE_IDS = ArrayIds(".", first_index=1)

# the letter of a state string that decides its meaning, most telling first
_PRECEDENCE = "EzrtsSTRhqwd"


def _state_letter(native: str) -> str:
    for letter in _PRECEDENCE:
        if letter in native:
            return letter
    return native.strip()


#: the letters of qstat's state column and what they mean to pipekit
SGE_STATES = StateVocabulary("Grid Engine", {
    PENDING: {"q": (None, "queued"), "w": (None, "waiting"), "h": (None, "on hold"),
              "R": (None, "restarted (re-queued)")},
    RUNNING: {"r": (None, "running"), "t": (None, "being transferred to its host"),
              "s": (None, "suspended"), "S": (None, "queue suspended"),
              "T": (None, "queue suspended by alarm"),
              "d": (None, "being deleted (stays until it leaves the queue)")},
    FINISHED: {"z": (None, "finished (qstat -s z)")},
    FAILED: {"E": (NODE_FAILURE, "error state (Eqw): could not be started; removed by pipekit")},
}, normalize=_state_letter)

#: qacct's failed codes (sge_status(5)) and their failure reasons (0: judged by exit_status)
SGE_FAILED = StateVocabulary("Grid Engine accounting", {
    FINISHED: {"0": (None, "no failure: judged by exit_status")},
    FAILED: {
        **{str(c): (NODE_FAILURE, "the execution daemon or shepherd failed before the job ran")
           for c in (1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 18, 19, 20, 21)},
        **{str(c): (NODE_FAILURE, "the job ran, but its PE stop, epilog or processor set failed")
           for c in (12, 13, 14, 15, 16)},
        "17": (CANCELLED, "killed by a signal (possibly qdel)"),
        "24": (EVICTED, "migrating (checkpointing job)"),
        "25": (PREEMPTED, "rescheduled"),
        **{str(c): (NODE_FAILURE, "could not be started on its host (output file, shell, "
                                  "working directory, AFS, user or group set-up)")
           for c in (26, 27, 28, 29, 31, 32, 33, 34, 35, 36, 38)},
        "30": (EXIT_CODE, "exited with 100 (may be rescheduled)"),
        "37": (WALLTIME, "qmaster enforced h_rt, h_cpu or h_vmem (oom when the memory used "
                         "reached h_vmem)"),
        "100": (CANCELLED, "killed by a signal after it started (oom or walltime when its usage "
                           "says so; cancelled for SIGKILL/SIGTERM, else exit_code)"),
    },
}, normalize=lambda native: native.strip().split(" ")[0].split(":")[0])

#: share of its h_vmem request a job must have used to count a memory failure as ``oom``
#: (Grid Engine samples usage, so the peak it records stays below the limit the job hit)
OOM_FRACTION = 0.8


@dataclass
class QueuedTask:
    """One array task as ``qstat -xml`` lists it."""

    job_id: str
    name: str
    state: str


def parse_qstat_xml(text: str) -> list[QueuedTask]:
    """The array tasks in ``qstat -xml`` output (jobs that are not arrays are left out)."""
    text = (text or "").strip()
    if not text:
        return []
    try:
        root = ET.fromstring(text)
    except ET.ParseError as e:
        raise JobError(f"cannot read the XML output of qstat: {e}") from None
    out = []
    for job in root.iter("job_list"):
        number = (job.findtext("JB_job_number") or "").strip()
        tasks = (job.findtext("tasks") or "").strip()
        if not number or not tasks:
            continue
        name = (job.findtext("JB_name") or "").strip()
        state = (job.findtext("state") or "").strip()
        out.extend(QueuedTask(i, name, state) for i in SGE_IDS.expand(number, tasks))
    return out


def queued_state(task: QueuedTask) -> JobState:
    """The :class:`JobState` of a queued task (an unknown state letter reads as pending)."""
    native = SGE_STATES.lookup(task.state)
    status = native.status if native else PENDING
    error = (f"in Grid Engine's error state {task.state} (could not be started)"
             if status == FAILED else None)
    return JobState(task.job_id, status, None, error, "qstat", reason=SGE_STATES.reason(task.state))


def parse_qacct(text: str) -> list[dict[str, str]]:
    """The records of ``qacct -j`` output, one dict per task (``{"jobnumber": "12", ...}``)."""
    records: list[dict[str, str]] = []
    current: dict[str, str] | None = None
    for line in (text or "").splitlines():
        if line.startswith("====="):
            current = {}
            records.append(current)
            continue
        if current is None or not line.strip():
            continue
        key, _, value = line.partition(" ")
        current[key.strip()] = value.strip()
    return [r for r in records if r.get("jobnumber")]


def _int(value: str | None) -> int | None:
    m = re.match(r"^\s*(-?\d+)", value or "")
    return int(m.group(1)) if m else None


def memory_bytes(value: str | None) -> float | None:
    """A Grid Engine memory value (``300M``, ``2G``, ``1.5k``, ``511.172MB``) in bytes."""
    m = re.match(r"^\s*([0-9]*\.?[0-9]+)\s*([kKmMgGtT]?)[bB]?\s*$", value or "")
    if not m:
        return None
    unit = m.group(2)
    # Grid Engine: upper case multiplies by 1024, lower case by 1000 (sge_types(1))
    base = 1000.0 if unit.islower() else 1024.0
    power = " KMGT".index(unit.upper()) if unit else 0
    return float(m.group(1)) * base ** power


def _requests(category: str) -> dict[str, str]:
    """The ``-l`` requests of a qacct ``category`` (``-l h_rt=60,h_vmem=300M -pe smp 2``)."""
    out: dict[str, str] = {}
    for m in re.finditer(r"-l\s+(\S+)", category or ""):
        for item in m.group(1).split(","):
            key, _, value = item.partition("=")
            out[key.strip()] = value.strip()
    return out


def _seconds(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip().rstrip("s")
    try:
        if ":" in value:  # h:m:s
            h, m, s = (value.split(":") + ["0", "0"])[:3]
            return float(h or 0) * 3600 + float(m or 0) * 60 + float(s or 0)
        return parse_duration(value)
    except ValueError:
        return None


def _limit_reason(record: dict[str, str]) -> str | None:
    """OOM or WALLTIME when the task's usage reached what it requested, else None."""
    requests = _requests(record.get("category", ""))
    slots = max(1, _int(record.get("slots")) or 1)
    limit = memory_bytes(requests.get("h_vmem")) if requests.get("h_vmem") else None
    used = memory_bytes(record.get("maxvmem"))
    if limit and used is not None and used >= OOM_FRACTION * limit * slots:  # h_vmem is per slot
        return OOM
    h_rt = _seconds(requests.get("h_rt") or requests.get("s_rt"))
    wall = _seconds(record.get("ru_wallclock"))
    if h_rt and wall is not None and wall >= h_rt:
        return WALLTIME
    return None


def qacct_state(record: dict[str, str]) -> JobState:
    """The :class:`JobState` of one ``qacct`` record (see the module docstring)."""
    job_id = SGE_IDS.job_id(record["jobnumber"], _int(record.get("taskid")) or 1)
    failed = record.get("failed", "0").strip()
    code = _int(record.get("exit_status"))
    failed_code = _int(failed) or 0
    if failed_code == 0 and not code:
        return JobState(job_id, FINISHED, 0, None, "qacct")
    limit = _limit_reason(record)
    if failed_code == 0:
        return JobState(job_id, FAILED, code, None, "qacct", reason=limit or EXIT_CODE)
    what = failed.partition(":")[2].strip() or "no description"
    killed = signal_name(code)
    error = f"Grid Engine: failed {failed_code} ({what})" + (f", {killed}" if killed else "")
    reason = SGE_FAILED.reason(failed)
    if failed_code == 37:
        reason = limit if limit == OOM else WALLTIME
    elif failed_code == 100:
        reason = limit or reason_of_signal(code) or EXIT_CODE
    return JobState(job_id, FAILED, code, error, "qacct", reason=reason)


def parse_error_reasons(text: str) -> dict[int, str]:
    """``{task id: message}`` from the ``error reason N:`` lines of ``qstat -j`` output."""
    out: dict[int, str] = {}
    for m in re.finditer(r"^error reason\s+(\d+):\s*(.*)$", text or "", re.M):
        out[int(m.group(1))] = re.sub(r"^\S+ \S+ \[[^\]]*\]:\s*", "", m.group(2).strip())
    return out


def parse_qsub_output(text: str) -> str | None:
    """The job number in ``qsub -terse`` output (``"12.1-10:1"`` or ``"12"``)."""
    m = re.match(r"^\s*(\d+)", (text or "").strip().splitlines()[-1] if (text or "").strip() else "")
    return m.group(1) if m else None


def parse_version(text: str) -> tuple[int, ...] | None:
    """``(8, 1, 9)`` from the first line of ``qstat -help`` (``SGE 8.1.9``)."""
    m = re.search(r"(?:SGE|GE|OGS/GE|UGE)\s+(\d+)\.(\d+)(?:\.(\d+))?", text or "")
    if not m:
        return None
    return tuple(int(x) for x in m.groups() if x is not None)

