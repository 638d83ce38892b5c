"""
What HTCondor says about jobs, read into pipekit's status model. Pure functions, no commands
(:mod:`pipekit.batch.htcondor` runs them):

- :func:`parse_ads` reads the output of ``condor_q -json`` / ``condor_history -json`` with the
  standard library (a JSON array of job ads; nothing at all when no job matched).
- :func:`job_state` maps an ad to a :class:`~pipekit.job.base.JobState`: ``JobStatus`` 1 idle and
  0 unexpanded are pending; 2 running, 6 transferring output and 7 suspended are running; 4
  completed is finished with ``ExitCode`` 0 and failed otherwise (``ExitBySignal`` /
  ``ExitSignal`` give ``128 + signal``); 5 held is failed with ``HoldReason``; 3 removed is
  failed with ``RemoveReason``.
- :func:`clusters_constraint` and :func:`jobs_constraint` write ClassAd constraints that name
  exactly a set of clusters or jobs (job ranges compressed, so the argument stays short).
- :func:`unmaterialized` applies late materialization (``max_materialize``): a job factory creates
  its jobs in ProcId order, and ``JobMaterializeNextProcId`` of ``condor_q -factory`` is the first
  ProcId not created yet; such jobs are waiting, not lost.
- :func:`removal_plan` says what ``condor_rm`` must name to cancel a set of jobs.
- :func:`parse_submit_output` and :func:`parse_version` read ``condor_submit`` and
  ``condor_version``.
"""

from __future__ import annotations

import json
import re
import signal
from collections import defaultdict
from typing import Any, Iterable, Sequence

from pipekit.errors import JobError
from pipekit.job.base import (
    CANCELLED,
    EXIT_CODE,
    FAILED,
    FINISHED,
    NODE_FAILURE,
    OOM,
    PENDING,
    RUNNING,
    UNKNOWN,
    WALLTIME,
    JobState,
)

__all__ = [
    "JOB_STATUS_NAMES",
    "QUERY_ATTRIBUTES",
    "FACTORY_ATTRIBUTES",
    "parse_ads",
    "parse_job_id",
    "ad_job_id",
    "is_held",
    "hold_reason",
    "job_state",
    "classad_string",
    "clusters_constraint",
    "jobs_constraint",
    "jobs_constraints",
    "MAX_CONSTRAINT",
    "factory_progress",
    "unmaterialized",
    "removal_plan",
    "parse_submit_output",
    "parse_version",
]

#: HTCondor's JobStatus codes, as condor_q names them
JOB_STATUS_NAMES = {
    0: "unexpanded",
    1: "idle",
    2: "running",
    3: "removed",
    4: "completed",
    5: "held",
    6: "transferring output",
    7: "suspended",
}
_STATUS = {0: PENDING, 1: PENDING, 2: RUNNING, 3: FAILED, 4: FINISHED, 5: FAILED, 6: RUNNING,
           7: RUNNING}

#: the job attributes a status query asks for (condor_q / condor_history ``-attributes``)
QUERY_ATTRIBUTES = ("ClusterId", "ProcId", "JobStatus", "ExitCode", "ExitBySignal", "ExitSignal",
                    "HoldReason", "HoldReasonCode", "HoldReasonSubCode", "RemoveReason",
                    "LastHoldReason", "LastHoldReasonCode", "LastHoldReasonSubCode")
#: the factory (late materialization) attributes of ``condor_q -factory``
FACTORY_ATTRIBUTES = ("ClusterId", "JobMaterializeNextProcId", "TotalSubmitProcs")


def parse_ads(text: str, what: str = "condor_q") -> list[dict[str, Any]]:
    """The job ads in the ``-json`` output *text* of *what* (no output: no ads)."""
    text = (text or "").strip()
    if not text:
        return []
    try:
        data = json.loads(text)
    except ValueError as e:
        raise JobError(f"cannot read the JSON output of {what} ({e}); first characters: "
                       f"{text[:120]!r}") from None
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise JobError(f"{what} printed JSON that is not a list of job ads: {text[:120]!r}")
    return [ad for ad in data if isinstance(ad, dict)]


def parse_job_id(job_id: str) -> tuple[int, int] | None:
    """``"123.4"`` -> ``(123, 4)``; None for anything else."""
    m = re.match(r"^\s*(\d+)\.(\d+)\s*$", str(job_id))
    return (int(m.group(1)), int(m.group(2))) if m else None


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float)):
        return int(value)
    if isinstance(value, str) and re.match(r"^-?\d+$", value.strip()):
        return int(value)
    return None


def _text(value: Any) -> str | None:
    """A string attribute; HTCondor's ``undefined`` (null, or absent) is None."""
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "undefined")):
        return None
    return str(value).strip()


def ad_job_id(ad: dict[str, Any]) -> str | None:
    """``"ClusterId.ProcId"`` of a job ad, or None when it has no such attributes."""
    cluster, proc = _int(ad.get("ClusterId")), _int(ad.get("ProcId"))
    if cluster is None or proc is None:
        return None
    return f"{cluster}.{proc}"


def is_held(ad: dict[str, Any]) -> bool:
    """Whether the job of *ad* is held (JobStatus 5)."""
    return _int(ad.get("JobStatus")) == 5


#: HoldReasonCodes (HTCondor's condor_holdcodes.h) and what they mean for pipekit
_HOLD_REASONS = {
    1: CANCELLED,  # UserRequest: condor_hold by a user
    # the job could not start or its files could not move: the machinery, not the job
    **{code: NODE_FAILURE for code in (6, 7, 8, 9, 10, 11, 12, 13, 14, 18, 19, 22, 23, 24, 48)},
    34: OOM,  # JobOutOfResources (subcode 104: disk, see hold_reason)
    46: WALLTIME,  # JobDurationExceeded (allowed_job_duration)
    47: WALLTIME,  # JobExecuteExceeded (allowed_execute_duration)
}
#: HoldReasonSubCode of JobOutOfResources / StartdHeldJob holds for memory and disk
_SUBCODE_MEMORY, _SUBCODE_DISK = 102, 104
#: policy holds (a pool's or the job's periodic_hold) say in words what they enforce
_POLICY_CODES = (3, 21, 26)
_POLICY_WORDS = (
    (re.compile(r"memory|\bRSS\b|ResidentSetSize|ImageSize", re.I), OOM),
    (re.compile(r"runtime|run time|wall ?time|wall ?clock|time limit|duration|too long|MaxRuntime",
                re.I), WALLTIME),
)


def hold_reason(code: int | None, subcode: int | None, text: str | None) -> str:
    """
    pipekit's failure reason for a hold: ``oom`` for memory (code 34, or a policy hold whose
    reason speaks of memory), ``walltime`` for time limits (46, 47, or a policy hold about
    runtime), ``node_failure`` for holds of the machinery (transfer, start-up, spool errors),
    ``cancelled`` for condor_hold, else ``exit_code``.
    """
    if code == 34:
        return EXIT_CODE if subcode == _SUBCODE_DISK else OOM
    if code == 21 and subcode == _SUBCODE_MEMORY:
        return OOM
    if code in _POLICY_CODES or code is None:
        for pattern, reason in _POLICY_WORDS:
            if text and pattern.search(text):
                return reason
        return EXIT_CODE
    return _HOLD_REASONS.get(code, EXIT_CODE)


def _signal_name(num: int) -> str:
    try:
        return signal.Signals(num).name
    except ValueError:
        return f"signal {num}"


def job_state(ad: dict[str, Any], source: str) -> JobState:
    """pipekit's view of one job ad from *source* (``condor_q`` or ``condor_history``)."""
    job_id = ad_job_id(ad) or "?"
    code = _int(ad.get("JobStatus"))
    status = _STATUS.get(code) if code is not None else None
    if status is None:
        return JobState(job_id, UNKNOWN, None, f"unknown JobStatus {ad.get('JobStatus')!r}", source)
    if code == 5:
        reason = _text(ad.get("HoldReason")) or "no reason given"
        hold = _int(ad.get("HoldReasonCode"))
        sub = _int(ad.get("HoldReasonSubCode"))
        where = f" (hold code {hold}{f'.{sub}' if sub else ''})" if hold is not None else ""
        return JobState(job_id, FAILED, None, f"held by HTCondor: {reason}{where}", source,
                        reason=hold_reason(hold, sub, reason))
    if code == 3:
        reason = _text(ad.get("RemoveReason")) or "no reason given"
        held = _text(ad.get("LastHoldReason"))
        error = f"removed from HTCondor: {reason}" + (f" (held before: {held})" if held else "")
        # removed after a hold (a pool's periodic_remove of held jobs): the hold says why
        why = hold_reason(_int(ad.get("LastHoldReasonCode")), _int(ad.get("LastHoldReasonSubCode")),
                          held) if held else CANCELLED
        return JobState(job_id, FAILED, None, error, source, reason=why)
    if code == 4:
        if ad.get("ExitBySignal") is True or str(ad.get("ExitBySignal")).lower() == "true":
            sig = _int(ad.get("ExitSignal"))
            if sig is None:
                return JobState(job_id, FAILED, None, "killed by a signal", source, reason=EXIT_CODE)
            return JobState(job_id, FAILED, 128 + sig, f"killed by {_signal_name(sig)}", source,
                            reason=EXIT_CODE)
        exit_code = _int(ad.get("ExitCode"))
        if exit_code is None:
            return JobState(job_id, FINISHED, None, None, source)
        if exit_code == 0:
            return JobState(job_id, FINISHED, 0, None, source)
        return JobState(job_id, FAILED, exit_code, None, source, reason=EXIT_CODE)
    return JobState(job_id, status, None, None, source)


def classad_string(value: str) -> str:
    """*value* as a ClassAd string literal."""
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def clusters_constraint(clusters: Iterable[int]) -> str:
    """A constraint matching every job of *clusters*."""
    cs = sorted(set(int(c) for c in clusters))
    if not cs:
        return "false"
    return " || ".join(f"ClusterId == {c}" for c in cs)


def _ranges(values: Iterable[int]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for v in sorted(set(values)):
        if out and v == out[-1][1] + 1:
            out[-1] = (out[-1][0], v)
        else:
            out.append((v, v))
    return out


#: longest constraint in one argument (Linux refuses a single argument beyond 128 KiB)
MAX_CONSTRAINT = 64 * 1024


def jobs_constraints(job_ids: Iterable[str], max_chars: int = MAX_CONSTRAINT) -> list[tuple[str, int]]:
    """
    Constraints matching exactly *job_ids* (``"C.P"``), as ``(constraint, number of jobs)``;
    runs of ProcIds become ranges, and only when even that is longer than *max_chars* (jobs
    scattered over large clusters) is the set split over several constraints.
    """
    by_cluster: dict[int, set[int]] = defaultdict(set)
    for job_id in job_ids:
        parsed = parse_job_id(job_id)
        if parsed:
            by_cluster[parsed[0]].add(parsed[1])
    chunks: list[dict[int, list[str]]] = [{}]
    counts, size = [0], 0
    for cluster in sorted(by_cluster):
        for a, b in _ranges(by_cluster[cluster]):
            term = f"ProcId == {a}" if a == b else f"(ProcId >= {a} && ProcId <= {b})"
            cost = len(term) + 4 + (0 if cluster in chunks[-1] else 40)
            if counts[-1] and size + cost > max_chars:
                chunks.append({})
                counts.append(0)
                size, cost = 0, len(term) + 44
            chunks[-1].setdefault(cluster, []).append(term)
            counts[-1] += b - a + 1
            size += cost
    out = []
    for chunk, n in zip(chunks, counts):
        parts = [f"(ClusterId == {c} && ({' || '.join(terms)}))" for c, terms in chunk.items()]
        if parts:
            out.append((" || ".join(parts), n))
    return out


def jobs_constraint(job_ids: Iterable[str]) -> str:
    """One constraint matching exactly *job_ids*, however long (see :func:`jobs_constraints`)."""
    found = jobs_constraints(job_ids, max_chars=2**62)
    return found[0][0] if found else "false"


def factory_progress(ads: Sequence[dict[str, Any]]) -> dict[int, tuple[int, int | None]]:
    """``{cluster: (next ProcId to materialize, total ProcIds or None)}`` of factory ads."""
    out = {}
    for ad in ads:
        cluster, nxt = _int(ad.get("ClusterId")), _int(ad.get("JobMaterializeNextProcId"))
        if cluster is not None and nxt is not None:
            out[cluster] = (nxt, _int(ad.get("TotalSubmitProcs")))
    return out


def unmaterialized(job_ids: Iterable[str], factories: dict[int, tuple[int, int | None]]) -> set[str]:
    """Those of *job_ids* that their cluster's factory has not created yet."""
    out = set()
    for job_id in job_ids:
        parsed = parse_job_id(job_id)
        if parsed and parsed[0] in factories and parsed[1] >= factories[parsed[0]][0]:
            out.add(job_id)
    return out


def removal_plan(requested: Iterable[str], live: dict[int, set[int]],
                 factories: dict[int, tuple[int, int | None]]) -> tuple[list[str], list[str]]:
    """
    What to pass to ``condor_rm`` to cancel *requested* jobs, given the ProcIds of each cluster
    still in the queue (*live*) and the clusters' factories. Returns ``(arguments, stuck)``.

    A whole cluster is named when every job of it that is queued or still to be materialized is
    requested: that also stops its factory. Otherwise the requested queued jobs are named one by
    one; requested jobs a factory has not created yet cannot be removed without their cluster and
    are returned as *stuck*. Requested jobs that already left the queue are left out.
    """
    wanted: dict[int, set[int]] = defaultdict(set)
    for job_id in requested:
        parsed = parse_job_id(job_id)
        if parsed:
            wanted[parsed[0]].add(parsed[1])
    args: list[str] = []
    stuck: list[str] = []
    for cluster in sorted(wanted):
        req, queued = wanted[cluster], live.get(cluster, set())
        pending: set[int] = set()
        factory = factories.get(cluster)
        if factory is not None:
            nxt, total = factory
            # without TotalSubmitProcs only the requested ones are known to be still to come;
            # removing the cluster then may also remove unrequested ones, which the loop
            # resubmits (the reverse, a factory creating cancelled jobs, cannot be repaired)
            pending = set(range(nxt, total)) if total is not None else {p for p in req if p >= nxt}
        if (queued or pending) and queued | pending <= req:
            args.append(str(cluster))
            continue
        args += [f"{cluster}.{p}" for p in sorted(req & queued)]
        stuck += [f"{cluster}.{p}" for p in sorted(req & pending)]
    return args, stuck


_SUBMITTED = re.compile(r"(\d+)\s+job\(s\) submitted to cluster (\d+)")
_TERSE = re.compile(r"^\s*(\d+)\.(\d+)\s*-\s*(\d+)\.(\d+)\s*$", re.M)


def parse_submit_output(out: str) -> tuple[int, int] | None:
    """``(number of jobs, cluster id)`` from ``condor_submit``'s output (plain or ``-terse``)."""
    m = _SUBMITTED.search(out or "")
    if m:
        return int(m.group(1)), int(m.group(2))
    m = _TERSE.search(out or "")
    if m and m.group(1) == m.group(3):
        return int(m.group(4)) - int(m.group(2)) + 1, int(m.group(1))
    return None


def parse_version(text: str) -> tuple[int, ...] | None:
    """``(24, 0, 1)`` from ``$CondorVersion: 24.0.1 ...`` (condor_version, htcondor.version())."""
    m = re.search(r"\$CondorVersion:\s*(\d+)\.(\d+)\.(\d+)", text or "")
    return tuple(int(x) for x in m.groups()) if m else None
