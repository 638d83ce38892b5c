"""
Reading what the ARC client tools print: ARC job states mapped onto pipekit's statuses and the
failure-reason vocabulary of :mod:`pipekit.job.base`, ``arcstat --json`` output, ``arcsub``
output, and pipekit's ARC job names (``pk_<Family>_<tag>_<index>``, which say where a job's
files belong).

ARC's generic job states (what ``arcstat`` prints as ``state``): Accepted, Preparing,
Submitting, Hold, Queuing, Running, Finishing, Finished, Killed, Failed, Deleted, Other,
Undefined. A job that ended with a non-zero exit code is "Failed" with the error "LRMS error:
(N) Job finished with wrong exit code - N != 0".
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from pipekit.job.base import (
    CANCELLED,
    EXIT_CODE,
    FAILED,
    FINISHED,
    LOST,
    NODE_FAILURE,
    OOM,
    PENDING,
    RUNNING,
    UNKNOWN,
    WALLTIME,
)

__all__ = ["ARCJobInfo", "map_arc_state", "failure_reason", "parse_arcstat_json",
           "parse_arcsub_output", "job_name", "parse_job_name", "ENDED_STATES"]

_STATES = {
    "accepted": PENDING, "preparing": PENDING, "submitting": PENDING, "hold": PENDING,
    "queuing": PENDING,
    "running": RUNNING, "finishing": RUNNING,
    "finished": FINISHED,
    "failed": FAILED, "killed": FAILED, "deleted": FAILED,
    "other": UNKNOWN, "undefined": UNKNOWN,
}
#: ARC states after which the job runs no more (its outputs can be retrieved, except Deleted)
ENDED_STATES = ("finished", "failed", "killed", "deleted")


def map_arc_state(state: str) -> str:
    """pipekit's status for an ARC job state (``"Queuing"`` -> pending); unknown ones: unknown."""
    return _STATES.get(state.strip().split(" ")[0].lower(), UNKNOWN)


def failure_reason(state: str, error: str, exit_code: int | None) -> str:
    """The reason (:data:`pipekit.job.base.FAILURE_REASONS`) of a job that ended unsuccessfully."""
    state, text = state.strip().lower(), error.lower()
    if state == "killed" or "cancel" in text:
        return CANCELLED
    if state == "deleted":
        return LOST  # the CE removed the job and its outputs
    if re.search(r"wall.?time|time limit|cpu time|timeout", text):
        return WALLTIME
    if "memory" in text:
        return OOM
    if "wrong exit code" in text or (exit_code not in (None, 0) and "lrms error" in text):
        return EXIT_CODE
    if exit_code not in (None, 0) and not text:
        return EXIT_CODE
    # input staging, LRMS submission, node loss: the machinery failed, not the job
    return NODE_FAILURE


@dataclass
class ARCJobInfo:
    """One job as ``arcstat`` reports it."""

    job_id: str
    name: str
    state: str
    exit_code: int | None = None
    errors: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        status = map_arc_state(self.state)
        if status == FINISHED and self.exit_code not in (None, 0):
            return FAILED
        return status

    @property
    def ended(self) -> bool:
        return self.state.strip().split(" ")[0].lower() in ENDED_STATES


def parse_arcstat_json(text: str) -> dict[str, ARCJobInfo]:
    """
    Jobs of ``arcstat --json`` output by id. ARC 6 prints ``"jobs": [...]`` without the
    enclosing braces; both forms are read. Output without a job list (no job known) gives {}.
    """
    start = text.find('"jobs"')
    if start < 0:
        return {}
    body = text[start:].strip()
    try:
        data = json.loads("{" + body + "}") if not text.lstrip().startswith("{") else json.loads(text)
    except ValueError:
        # trailing lines after the list (warnings on stdout): cut after the closing bracket
        end = body.rfind("]")
        data = json.loads("{" + body[:end + 1] + "}")
    out = {}
    for job in data.get("jobs", []):
        if not isinstance(job, dict) or "id" not in job:
            continue
        code = job.get("exitCode")
        errors = job.get("jobError") or []
        out[job["id"]] = ARCJobInfo(
            job_id=job["id"], name=str(job.get("name", "")), state=str(job.get("state", "Undefined")),
            exit_code=int(code) if isinstance(code, (int, float)) or str(code).lstrip("-").isdigit() else None,
            errors=[str(e) for e in (errors if isinstance(errors, list) else [errors])],
        )
    return out


_SUBMITTED = re.compile(r"^Job submitted with jobid:\s*(\S+)", re.M)


def parse_arcsub_output(text: str) -> list[str]:
    """The job ids ``arcsub`` printed, in the order it submitted the descriptions."""
    return _SUBMITTED.findall(text)


def job_name(base: str, index: int) -> str:
    """The ARC job name of array index *index* of the submission named *base*."""
    return f"{base}_{index}"


_NAME = re.compile(r"^pk_.*_([0-9a-f]{12})_(\d+)$")


def parse_job_name(name: str) -> tuple[str, int] | None:
    """``(tag, index)`` of a pipekit ARC job name, None for other names."""
    m = _NAME.match(name.strip())
    return (m.group(1), int(m.group(2))) if m else None
