"""
What LSF says about jobs, read into pipekit's status model. Pure functions, no commands
(:mod:`pipekit.batch.lsf` runs them), written against the formats IBM documents for LSF 10.1
(``bjobs -o``, ``bjobs -json``, ``bhist -l``, ``bsub``); no LSF cluster exists here to record
real output (see docs/lsf.md for what is and is not tested).

- :data:`LSF_STATES`: the ``STAT`` values of ``bjobs`` (PEND, RUN, DONE, EXIT, ...). ``UNKWN``
  (the batch daemon lost contact with the job's host) stays running: LSF may still finish the
  job, and resubmitting it could run its branches twice.
- :data:`LSF_EXIT_REASONS`: the ``TERM_*`` termination reasons (``bjobs``/``bhist``/``bacct``)
  and their failure reasons; :func:`exit_reason` finds one in an ``EXIT_REASON`` field or a
  ``bhist -l`` text, by keyword or by its description.
- :func:`parse_bjobs_json` reads ``bjobs -json -o "..."`` (``{"RECORDS": [{"JOBID": ...}]}``),
  :func:`parse_bjobs_text` reads ``bjobs -noheader -o "... delimiter='|'"`` (LSF before
  10.1.0.2 has no ``-json``), both into :class:`BjobsRecord`; :func:`record_state` makes the
  :class:`~pipekit.job.base.JobState`.
- :func:`parse_bhist` reads the job blocks of ``bhist -l`` (wrapped lines joined).
- :func:`parse_bsub_output` reads ``Job <123> is submitted to queue <normal>.``;
  :func:`parse_version` the first line of ``lsid`` / ``bjobs -V``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from pipekit.errors import JobError
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
from pipekit.job.states import StateVocabulary, reason_of_signal, signal_exit_code

__all__ = ["LSF_IDS", "LSF_STATES", "LSF_EXIT_REASONS", "BJOBS_FIELDS", "BjobsRecord",
           "parse_bjobs_json", "parse_bjobs_text", "record_state", "exit_reason",
           "parse_bhist", "parse_bsub_output", "parse_version", "not_found_ids"]

#: LSF array element ids: ``<job id>[<index>]``, indices from 1
LSF_IDS = ArrayIds("[", "]", first_index=1)

#: the bjobs -o fields pipekit asks for, in this order (the text format relies on it)
BJOBS_FIELDS = ("jobid", "jobindex", "stat", "exit_code", "exit_reason", "job_name")

#: bjobs STAT values and what they mean to pipekit
LSF_STATES = StateVocabulary("LSF", {
    PENDING: {"PEND": (None, "waiting in a queue"), "PROV": (None, "its host is being provisioned"),
              "PSUSP": (None, "suspended while pending"),
              "WAIT": (None, "a chunk-job member waiting to run")},
    RUNNING: {"RUN": (None, "running"), "USUSP": (None, "suspended by its user"),
              "SSUSP": (None, "suspended by LSF"),
              "UNKWN": (None, "mbatchd lost contact with its host; it may still finish")},
    FINISHED: {"DONE": (None, "ended with exit code 0"),
               "POST_DONE": (None, "done, post-processing done")},
    FAILED: {"EXIT": (EXIT_CODE, "ended with a non-zero exit code or was killed (see its "
                                 "termination reason)"),
             "ZOMBI": (NODE_FAILURE, "killed while its host was unreachable"),
             "POST_ERR": (EXIT_CODE, "post-processing failed")},
})

#: LSF's termination reasons (TERM_* keywords) and their failure reasons
LSF_EXIT_REASONS = StateVocabulary("LSF termination", {
    FAILED: {
        "TERM_MEMLIMIT": (OOM, "over the LSF memory limit"),
        "TERM_SWAP": (OOM, "over the swap limit"),
        "TERM_RUNLIMIT": (WALLTIME, "over the run limit (bsub -W)"),
        "TERM_CPULIMIT": (WALLTIME, "over the CPU time limit"),
        "TERM_DEADLINE": (WALLTIME, "its deadline passed"),
        "TERM_WINDOW": (WALLTIME, "its run window closed"),
        "TERM_PREEMPT": (PREEMPTED, "preempted"),
        "TERM_RC_RECLAIM": (PREEMPTED, "its resource-connector host was reclaimed"),
        "TERM_MC_RECALL": (PREEMPTED, "recalled to its submission cluster"),
        "TERM_LOAD": (EVICTED, "its host's load passed a threshold"),
        "TERM_REQUEUE_ADMIN": (EVICTED, "requeued by an administrator"),
        "TERM_CHKPNT": (EVICTED, "killed after checkpointing"),
        "TERM_OWNER": (CANCELLED, "killed by its owner (bkill)"),
        "TERM_FORCE_OWNER": (CANCELLED, "killed by its owner without cleanup (bkill -r)"),
        "TERM_ADMIN": (CANCELLED, "killed by root or an LSF administrator"),
        "TERM_FORCE_ADMIN": (CANCELLED, "killed by an administrator without cleanup"),
        "TERM_REQUEUE_OWNER": (CANCELLED, "requeued by its owner"),
        "TERM_BUCKET_KILL": (CANCELLED, "killed with bkill -b"),
        "TERM_ZOMBIE": (NODE_FAILURE, "killed while in ZOMBI state"),
        "TERM_REMOVE_HUNG_JOB": (NODE_FAILURE, "removed as a hung job"),
        "TERM_ORPHAN_SYSTEM": (NODE_FAILURE, "killed as an orphan (its dependency ended)"),
        "TERM_CWD_NOTEXIST": (NODE_FAILURE, "its working directory is missing on the host"),
        "TERM_PRE_EXEC_FAIL": (NODE_FAILURE, "its pre-execution command failed"),
        "TERM_DATA": (NODE_FAILURE, "data staging failed"),
        "TERM_CTRL_PID": (NODE_FAILURE, "LSF lost its process"),
        "TERM_RMS": (NODE_FAILURE, "RMS error"),
        "TERM_CSM_ALLOC": (NODE_FAILURE, "CSM allocation error"),
        "TERM_KUBE": (NODE_FAILURE, "Kubernetes integration error"),
        "TERM_PROCESSLIMIT": (EXIT_CODE, "over the process limit"),
        "TERM_THREADLIMIT": (EXIT_CODE, "over the thread limit"),
        "TERM_EXTERNAL_SIGNAL": (EXIT_CODE, "killed by a signal from outside LSF"),
        "TERM_OTHER": (EXIT_CODE, "other"),
        "TERM_UNKNOWN": (EXIT_CODE, "no reason known"),
    },
})

# termination descriptions as LSF words them, for an EXIT_REASON without its keyword
_DESCRIPTIONS = (
    (re.compile(r"memory (usage )?limit|swap limit", re.I), OOM),
    (re.compile(r"run ?(time )?limit|cpu (usage )?limit|deadline|run window", re.I), WALLTIME),
    (re.compile(r"preempt", re.I), PREEMPTED),
    (re.compile(r"load exceeds|checkpoint", re.I), EVICTED),
    (re.compile(r"killed by (its )?owner|by root or lsf administrator|bkill", re.I), CANCELLED),
    (re.compile(r"zombi|hung job|working directory", re.I), NODE_FAILURE),
)


def exit_reason(text: str | None) -> tuple[str | None, str | None]:
    """``(TERM_ keyword or None, failure reason or None)`` found in *text*."""
    if not text:
        return None, None
    m = re.search(r"\bTERM_[A-Z_]+", text)
    if m and LSF_EXIT_REASONS.lookup(m.group(0)):
        return m.group(0), LSF_EXIT_REASONS.reason(m.group(0))
    for pattern, reason in _DESCRIPTIONS:
        if pattern.search(text):
            return (m.group(0) if m else None), reason
    return (m.group(0) if m else None), None


@dataclass
class BjobsRecord:
    """One element of an LSF job array as bjobs lists it."""

    job_id: str
    index: int | None
    stat: str
    exit_code: int | None = None
    exit_reason: str = ""
    job_name: str = ""

    @property
    def element_id(self) -> str:
        """``123[4]``: the id pipekit keeps (the index from JOBINDEX, else the job name)."""
        index = self.index
        if not index:
            m = re.search(r"\[(\d+)\]$", self.job_name)
            index = int(m.group(1)) if m else None
        return LSF_IDS.job_id(self.job_id, index) if index else self.job_id


def _empty(value: object) -> str:
    text = "" if value is None else str(value).strip()
    return "" if text == "-" else text


def _code(value: object) -> int | None:
    text = _empty(value)
    return int(text) if re.fullmatch(r"-?\d+", text) else None


def _record(fields: dict[str, object]) -> BjobsRecord | None:
    job_id = _empty(fields.get("JOBID"))
    m = re.match(r"^(\d+)(?:\[(\d+)\])?$", job_id)
    if not m:
        return None
    index = _code(fields.get("JOBINDEX")) or (int(m.group(2)) if m.group(2) else None)
    return BjobsRecord(m.group(1), index, _empty(fields.get("STAT")).upper(),
                       _code(fields.get("EXIT_CODE")), _empty(fields.get("EXIT_REASON")),
                       _empty(fields.get("JOB_NAME")))


def parse_bjobs_json(text: str) -> list[BjobsRecord]:
    """The records of ``bjobs -json -o "..."`` output (records with an ``ERROR`` are skipped)."""
    text = (text or "").strip()
    if not text:
        return []
    try:
        data = json.loads(text)
    except ValueError as e:
        raise JobError(f"cannot read the JSON output of bjobs: {e}") from None
    out = []
    for fields in data.get("RECORDS", []) if isinstance(data, dict) else []:
        if isinstance(fields, dict) and not fields.get("ERROR"):
            record = _record({str(k).upper(): v for k, v in fields.items()})
            if record:
                out.append(record)
    return out


def parse_bjobs_text(text: str, delimiter: str = "|") -> list[BjobsRecord]:
    """The records of ``bjobs -noheader -o "<BJOBS_FIELDS> delimiter='|'"`` output."""
    out = []
    names = [f.upper() for f in BJOBS_FIELDS]
    for line in (text or "").splitlines():
        parts = line.split(delimiter)
        if len(parts) < 3 or "is not found" in line:
            continue
        record = _record(dict(zip(names, parts)))
        if record:
            out.append(record)
    return out


def record_state(record: BjobsRecord, source: str = "bjobs") -> JobState:
    """The :class:`JobState` of one bjobs record."""
    job_id = record.element_id
    native = LSF_STATES.lookup(record.stat)
    status = native.status if native else PENDING
    if status != FAILED:
        return JobState(job_id, status, 0 if status == FINISHED else None, None, source)
    _, reason = exit_reason(record.exit_reason)
    code = record.exit_code
    if reason is None:
        reason = LSF_STATES.reason(record.stat)
        if reason == EXIT_CODE:
            reason = reason_of_signal(code) if code and code > 128 else EXIT_CODE
    why = record.exit_reason or (f"exit code {code}" if code is not None else "no reason given")
    error = f"LSF {record.stat}: {why}"
    return JobState(job_id, FAILED, code, error, source, reason=reason)


def not_found_ids(stderr: str) -> list[str]:
    """Ids bjobs / bkill said it does not know (``Job <123> is not found``)."""
    return re.findall(r"Job <([\d\[\]]+)> is not found", stderr or "")


_INDENT = 21


def _blocks(text: str) -> list[str]:
    """The job blocks of ``bhist -l``, each with its wrapped lines joined."""
    blocks, lines = [], []
    for raw in (text or "").splitlines():
        if raw.startswith("-----"):
            if lines:
                blocks.append("\n".join(lines))
            lines = []
        elif raw[:1].isspace() and raw.strip() and lines:
            # bhist cuts lines at a fixed width, mid-word too, and indents the rest by 21
            # columns: join them as they were (a space at the cut stays where it was)
            lines[-1] += raw[_INDENT:] if raw.startswith(" " * _INDENT) else raw.strip()
        elif raw.strip():
            lines.append(raw.rstrip("\n"))
    if lines:
        blocks.append("\n".join(lines))
    return blocks


def parse_bhist(text: str) -> list[JobState]:
    """The final state of each job element in ``bhist -l`` output (running ones left out)."""
    out = []
    for block in _blocks(text):
        m = re.search(r"Job <(\d+)(?:\[(\d+)\])?>", block)
        if not m:
            continue
        job_id = LSF_IDS.job_id(m.group(1), int(m.group(2))) if m.group(2) else m.group(1)
        if re.search(r"Done successfully", block):
            out.append(JobState(job_id, FINISHED, 0, None, "bhist"))
            continue
        code_m = re.search(r"Exited with exit code (\d+)", block)
        sig_m = re.search(r"Exited by (?:LSF )?signal (\d+)", block)
        if not code_m and not sig_m and "Exited" not in block:
            continue
        code = int(code_m.group(1)) if code_m else (signal_exit_code(int(sig_m.group(1))) if sig_m else None)
        _, reason = exit_reason(block)
        if reason is None:
            reason = reason_of_signal(code) if code and code > 128 else EXIT_CODE
        term = re.search(r"(TERM_[A-Z_]+:[^.;\n]*)", block)
        error = f"LSF EXIT: {term.group(1).strip() if term else f'exit code {code}'}"
        out.append(JobState(job_id, FAILED, code, error, "bhist", reason=reason))
    return out


def parse_bsub_output(text: str) -> str | None:
    """The job id in ``Job <123> is submitted to (default) queue <normal>.``"""
    m = re.search(r"Job <(\d+)> is submitted", text or "")
    return m.group(1) if m else None


def parse_version(text: str) -> tuple[int, ...] | None:
    """``(10, 1, 0)`` from ``IBM Spectrum LSF 10.1.0.12, ...`` or ``Platform LSF 9.1.3.0``."""
    m = re.search(r"LSF (?:Standard )?(\d+)\.(\d+)(?:\.(\d+))?", text or "")
    if not m:
        return None
    return tuple(int(x) for x in m.groups() if x is not None)
