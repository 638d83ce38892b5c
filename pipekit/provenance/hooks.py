"""
Where runs hand their records over: the three places a task or branch finishes call these.

- a task luigi runs (plain tasks, single branches, requirements on a batch node): luigi's
  ``START`` and ``SUCCESS`` events (registered on :class:`pipekit.task.base.BaseTask`) call
  :func:`on_task_start` / :func:`on_task_success`; the records are written at once;
- branches of a workflow (:func:`pipekit.workflow.local.run_branches`, locally and on a batch
  node): :func:`branch_probe` before a branch runs, in the process that runs it (a forked worker
  or the main process), and :func:`branch_buffer` in the main process, which collects the
  workers' results and writes one file per output directory;
- a batch node (``python -m pipekit.job``) calls :func:`note_job` first, so its records name
  the job.

Every hook costs one attribute lookup when provenance is off, and never fails the task.
"""

from __future__ import annotations

import logging
from typing import Any

from pipekit.provenance.settings import makes_outputs, settings, tracks

__all__ = ["on_task_start", "on_task_success", "branch_probe", "branch_buffer", "note_job",
           "job_info"]

logger = logging.getLogger("pipekit.provenance")

_PROBE = "_pipekit_provenance_probe"
_job: dict[str, Any] = {}


def note_job(**info: Any) -> None:
    """On a batch node: records made by this process name the job (``job_num``, ``attempt``,
    and the batch system's job id, read from the environment)."""
    import os

    _job.clear()
    _job.update({k: v for k, v in info.items() if v not in (None, "")})
    env = os.environ
    if env.get("SLURM_JOB_ID"):
        _job.update(backend="slurm", job_id=env["SLURM_JOB_ID"])
        if env.get("SLURM_ARRAY_JOB_ID"):
            _job["job_id"] = f"{env['SLURM_ARRAY_JOB_ID']}_{env.get('SLURM_ARRAY_TASK_ID', '')}"
    elif env.get("_CONDOR_JOB_AD"):
        _job.update(backend="htcondor", job_id=_condor_job_id(env["_CONDOR_JOB_AD"]))
    else:
        _job.setdefault("backend", "batch")


def _condor_job_id(ad_path: str) -> str:
    """``Cluster.Proc`` from the job ad HTCondor writes for the job."""
    ad: dict[str, str] = {}
    try:
        with open(ad_path, encoding="utf-8", errors="replace") as f:
            for line in f:
                key, sep, value = line.partition(" = ")
                if sep and key in ("ClusterId", "ProcId"):
                    ad[key] = value.strip()
    except OSError:
        return ""
    return f"{ad.get('ClusterId', '?')}.{ad.get('ProcId', '?')}"


def job_info() -> dict[str, Any] | None:
    """The job this process runs as (None outside batch jobs)."""
    return dict(_job) or None


def _is_workflow(task: Any) -> bool:
    is_workflow = getattr(task, "is_workflow", None)
    return bool(callable(is_workflow) and is_workflow())


def _probe(task: Any) -> Any:
    from pipekit.provenance.record import RunProbe

    try:
        return RunProbe(task, settings().checksum)
    except Exception as e:  # an input() that raises is the task's business, not ours
        logger.warning("provenance of %r is not recorded: its inputs could not be read (%s: %s)",
                       task, type(e).__name__, e)
        return None


def on_task_start(task: Any) -> None:
    """luigi START: note the start time and the inputs (workflows: their branches do it)."""
    if tracks(task) and not _is_workflow(task) and makes_outputs(task):
        task.__dict__[_PROBE] = _probe(task)


def on_task_success(task: Any) -> None:
    """luigi SUCCESS: write the records of the task's outputs."""
    probe = task.__dict__.pop(_PROBE, None)
    if probe is None:
        return
    payload = probe.finish()
    if payload is None:
        return
    from pipekit.provenance.store import RecordBuffer

    buf = RecordBuffer()
    buf.add(task, payload)
    buf.flush()


def branch_probe(workflow: Any, branch: int, branch_task: Any) -> Any:
    """Before a branch runs: a probe to finish when it succeeded (None: not tracked)."""
    if not tracks(branch_task):
        return None
    probe = _probe(branch_task)
    if probe is not None:
        probe.outputs = branch_outputs(workflow, branch)
    return probe


def branch_outputs(workflow: Any, branch: int) -> list[Any] | None:
    """The output targets of a branch from the workflow's collection when it is built already
    (no call of the branch's ``output()``); None otherwise."""
    cached = workflow.__dict__.get("_wf_output")
    if cached is None:
        return None
    from pipekit.provenance.record import _leaves

    coll = cached["collection"]
    return list(_leaves(coll.targets[branch])) if branch in coll else None


def branch_buffer(workflow: Any) -> Any:
    """In the process running a workflow's branches: where their records go (None: not tracked).
    The shared context (code fingerprint, git state) is taken now, before any branch runs."""
    if not tracks(workflow):
        return None
    from pipekit.provenance.store import RecordBuffer

    buf = RecordBuffer()
    try:
        first = next(iter(workflow.branch_map), None)
        if first is not None:
            buf.context(workflow.branch_task(first))
    except Exception as e:
        logger.warning("provenance of %r is not recorded: %s: %s", workflow, type(e).__name__, e)
        return None
    return buf
