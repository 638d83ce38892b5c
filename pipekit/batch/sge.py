"""
Grid Engine (Son of Grid Engine, Open Grid Scheduler, Univa/Altair Grid Engine):
:class:`SGEJobManager` (qsub / qstat / qacct / qdel), :class:`SGEJobFileFactory` (the batch
script), :class:`SGEJobConfig`, and the workflow type :class:`SGEWorkflow` (``--workflow sge``)
with its ``sge_*`` hooks. The shared array logic is :class:`pipekit.job.arrays.ArrayJobManager`;
what qstat and qacct print is read in :mod:`pipekit.batch.sge_status`.

- One ``qsub -t 1-N`` array per submission (``-tc P`` for ``--parallel-jobs``; at most
  ``max_aj_tasks`` tasks), never one per job. Task ``i`` (from 1) runs plan position ``i - 1``;
  the files of a submission are named by task id (``log_$TASK_ID.txt``).
- One ``qstat -xml`` per poll cycle for all jobs of the user. Tasks it no longer lists are asked
  from ``qacct -j`` once per array and cycle while the cell has an accounting file (a missing
  file is learnt once; a slow qacct only skips a cycle's answer), then the exit-status file
  answers. A task in the error state (``Eqw``: it could not be started, e.g. its log directory
  is missing on the node) counts as failed with qstat's error reason and is deleted, so that
  its resubmission is not blocked.
- Job names are ``pk_<Family>_<tag>``: a submission whose ids were never recorded is found again
  in ``qstat``, then ``qacct -j <name>``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

import luigi

from pipekit.batch import sge_status as st
from pipekit.config import Config
from pipekit.errors import CommandError, UsageError
from pipekit.job.arrays import ArrayJobManager
from pipekit.job.base import (
    FAILED,
    BaseJobFileFactory,
    JobConfig,
    JobState,
    SubmissionPlan,
    config_seconds,
)
from pipekit.job.patterns import SGE_PATH_VARIABLES
from pipekit.job.resources import ResourceJobConfig, config_megabytes, read_resources
from pipekit.parameter import NO_STR
from pipekit.shell import run_command
from pipekit.workflow.remote import BaseRemoteWorkflow, BaseRemoteWorkflowProxy

__all__ = ["SGEJobConfig", "SGEJobManager", "SGEJobFileFactory", "SGEWorkflow",
           "SGEWorkflowProxy", "get_sge_version", "qsub_resource_args", "sge_path"]

_sge_version: tuple[int, ...] | None = None


def get_sge_version() -> tuple[int, ...] | None:
    """The installed Grid Engine version as a tuple, e.g. ``(8, 1, 9)``; None without it."""
    global _sge_version
    if _sge_version is None:
        try:
            proc = run_command(["qstat", "-help"], timeout=10, check=False)
        except CommandError:
            return None
        _sge_version = st.parse_version(proc.stdout + proc.stderr)
    return _sge_version


# qsub replaces these in -o/-e/-wd paths (qsub(1)); a literal one cannot be escaped


def sge_path(directory: str, name: str, what: str) -> str:
    """
    The qsub ``-o`` value for file *name* (which may hold a pseudo variable such as
    ``log_$TASK_ID.txt``) in *directory*: ``:directory/name``, with an empty host name so that a
    colon in the path is not read as ``host:path``. A comma (qsub's list separator) or one of
    qsub's pseudo variables in *directory* cannot be written there: a :class:`UsageError`
    naming *what* and the fix.
    """
    if "," in directory or SGE_PATH_VARIABLES.search(directory) or "\n" in directory:
        raise UsageError(f"Grid Engine cannot write {what} into '{directory}': qsub reads ',' as a "
                         "list separator and replaces $HOME, $USER, $JOB_ID, $JOB_NAME, $HOSTNAME "
                         "and $TASK_ID in it; use a directory without them (sge_output_directory())")
    return f":{os.path.join(directory, name)}"


@dataclass
class SGEJobConfig(ResourceJobConfig):
    """
    :class:`ResourceJobConfig` plus Grid Engine's queue, project and parallel environment.
    ``walltime`` becomes ``-l h_rt``, ``memory`` ``-l h_vmem`` (per slot, as Grid Engine counts
    it), ``cpus`` ``-pe <parallel_environment> N``, ``gpus`` ``-l <gpu_resource>=N``.
    """

    queue: str | None = None
    project: str | None = None
    #: the parallel environment that gives a job several slots on one host
    parallel_environment: str = "smp"
    #: the consumable complex a site counts GPUs with
    gpu_resource: str = "gpu"


def qsub_resource_args(config: SGEJobConfig) -> list[str]:
    """The qsub options for the resources in *config*."""
    args = []
    if config.queue:
        args += ["-q", str(config.queue)]
    if config.project:
        args += ["-P", str(config.project)]
    limits = []
    if config.walltime:
        limits.append(f"h_rt={config_seconds(config.walltime, 'Grid Engine walltime')}")
    if config.memory:
        limits.append(f"h_vmem={config_megabytes(config.memory, 'Grid Engine memory')}M")
    if config.gpus:
        limits.append(f"{config.gpu_resource}={int(config.gpus)}")
    if limits:
        args += ["-l", ",".join(limits)]
    if config.cpus and int(config.cpus) > 1:
        args += ["-pe", str(config.parallel_environment), str(int(config.cpus))]
    return args + [str(a) for a in config.extra_args]


class SGEJobFileFactory(BaseJobFileFactory):
    """Writes the bash batch script of one Grid Engine array submission."""

    script_name = "job.sh"

    def new_config(self) -> SGEJobConfig:
        """A config with the defaults of the ``[sge]`` section of law.cfg."""
        get = Config.instance().get_expanded
        config = SGEJobConfig(queue=get("sge", "queue", None), project=get("sge", "project", None),
                              parallel_environment=get("sge", "parallel_environment", "smp"),
                              gpu_resource=get("sge", "gpu_resource", "gpu"))
        return read_resources(config, "sge", "qsub_args")

    def render(self, plan: SubmissionPlan, config: JobConfig) -> str:
        first, last = st.SGE_IDS.index_range(plan)
        lines = ["#!/usr/bin/env bash",
                 f"# pipekit batch script: submission {plan.tag}, {len(plan)} job(s) as Grid Engine "
                 f"array tasks {first}-{last} (ledger jobs {plan.job_nums[0]}..{plan.job_nums[-1]})",
                 "# qsub options (array, job name, output, working directory, resources) are on "
                 "the qsub command line"]
        for item in config.custom_content:
            lines.append(self.create_line(item))
        lines += self.node_lines(plan, config, "${SGE_TASK_ID:-1}")
        return "\n".join(lines) + "\n"

    @staticmethod
    def create_line(item: Any) -> str:
        """``("l", "h_rt=3600")`` -> ``#$ -l h_rt=3600``; ``("notify",)`` -> ``#$ -notify``."""
        if isinstance(item, str):
            line = item.strip()
        elif isinstance(item, (list, tuple)) and len(item) in (1, 2):
            line = f"#$ -{str(item[0]).strip().lstrip('-')}"
            if len(item) == 2:
                value = str(item[1]).strip()
                if re.search(r"\s", value):  # qsub splits directives at whitespace
                    raise UsageError(f"batch script option {item!r}: Grid Engine directives cannot "
                                     "hold spaces; pass it with extra_args instead")
                line += f" {value}"
        else:
            raise UsageError(f"cannot turn {item!r} into a batch script line; use ('key', 'value') or a string")
        if "\n" in line:
            raise UsageError(f"batch script line {line!r} contains a newline")
        return line


class SGEJobManager(ArrayJobManager):
    """Submits, queries and cancels Grid Engine array jobs with qsub, qstat, qacct and qdel."""

    batch_system = "Grid Engine"
    config_section = "sge"
    ids = st.SGE_IDS
    default_max_array = 75000  # Grid Engine's default max_aj_tasks

    def __init__(self, queue: str | None = None, timeout: float | None = None, **kwargs: Any):
        super().__init__(timeout=timeout)
        self.queue = queue
        setting = (Config.instance().get_expanded("sge", "accounting", "auto") or "auto").lower()
        if setting in ("false", "no", "off", "0"):
            self.accounting_answered(False)  # a site with a huge accounting file opts out

    # -- submitting -----------------------------------------------------------------------------

    def submit_command(self, plan: SubmissionPlan, script: str, config: JobConfig) -> list[str]:
        first, last = self.ids.index_range(plan)
        cmd = ["qsub", "-terse", "-t", f"{first}-{last}"]
        if plan.parallel:
            cmd += ["-tc", str(int(plan.parallel))]
        cmd += ["-N", plan.job_name,
                "-o", sge_path(plan.directory, os.path.basename(plan.log_file("$TASK_ID")), "job logs"),
                "-j", "y",
                "-wd", plan.start_dir(config), "-S", "/bin/bash"]
        if self.queue and not getattr(config, "queue", None):
            cmd += ["-q", self.queue]
        if isinstance(config, SGEJobConfig):
            cmd += qsub_resource_args(config)
        else:
            cmd += [str(a) for a in config.extra_args]
        return cmd + [script]

    def parse_submit_output(self, stdout: str) -> str | None:
        return st.parse_qsub_output(stdout)

    def ask_max_array_size(self) -> int | None:
        """``max_aj_tasks`` of the global configuration (``[sge] max_array_size`` skips asking)."""
        out = self.run(["qconf", "-sconf"]).stdout
        m = re.search(r"^max_aj_tasks\s+(\d+)", out, re.M)
        return int(m.group(1)) if m and int(m.group(1)) > 0 else None

    # -- querying -------------------------------------------------------------------------------

    def _qstat(self) -> tuple[list[st.QueuedTask], str | None]:
        cmd = ["qstat", "-xml"]
        proc = self.run(cmd, check=False)
        if proc.returncode != 0:
            return [], CommandError(cmd, proc.returncode, proc.stderr).args[0]
        return st.parse_qstat_xml(proc.stdout), None

    def query_queue(self, arrays: list[str]) -> tuple[dict[str, JobState], str | None]:
        tasks, error = self._qstat()
        if error:
            return {}, error
        wanted = set(arrays)
        out = {t.job_id: st.queued_state(t) for t in tasks if self.ids.array(t.job_id) in wanted}
        errored = [i for i, s in out.items() if s.status == FAILED]
        if errored:
            self._settle_errors(errored, out)
        return out, None

    def _settle_errors(self, job_ids: list[str], states: dict[str, JobState]) -> None:
        """Give tasks in the error state qstat's reason, and delete them (they would stay)."""
        for array in self.ids.arrays(job_ids):
            proc = self.run(["qstat", "-j", array], check=False)
            reasons = st.parse_error_reasons(proc.stdout) if proc.returncode == 0 else {}
            for job_id in job_ids:
                a, index = self.ids.split(job_id)
                if a == array and index in reasons:
                    states[job_id].error = f"Grid Engine error state: {reasons[index]}"
        self.run(["qdel", *job_ids], check=False)

    def query_accounting(self, arrays: list[str]) -> dict[str, JobState]:
        out: dict[str, JobState] = {}
        for array in arrays:
            records = self._qacct(array)
            if records is None:
                break
            for record in records:
                state = st.qacct_state(record)
                out[state.job_id] = state
        return out

    def _qacct(self, job: str) -> list[dict[str, str]] | None:
        """The accounting records of *job* (a number or a name); None: no accounting (now)."""
        try:
            proc = self.run(["qacct", "-j", job], check=False)
        except CommandError:
            return None  # a large accounting file makes qacct slow: the status files answer
        if proc.returncode != 0:
            text = proc.stderr + proc.stdout
            if "not found" in text:
                self.accounting_answered(True)
                return []  # not (yet) written: accounting is flushed every flush_time
            if "no such file" in text.lower() or "accounting" in text.lower():
                self.accounting_answered(False)
            return None
        self.accounting_answered(True)
        return st.parse_qacct(proc.stdout)

    def find_in_queue(self, job_name: str) -> list[str]:
        tasks, error = self._qstat()
        if error:
            raise CommandError(["qstat", "-xml"], 1, error)
        return [t.job_id for t in tasks if t.name == job_name]

    def find_in_accounting(self, job_name: str) -> list[str] | None:
        records = self._qacct(job_name)
        if records is None:
            return None if not self.has_accounting() else []
        return [st.qacct_state(r).job_id for r in records]

    # -- cancelling -----------------------------------------------------------------------------

    def cancel_command(self, job_ids: list[str]) -> list[str]:
        return ["qdel", *job_ids]

    def cancel_refusal_is_harmless(self, stderr: str) -> bool:
        """qdel of tasks that already left the queue: "... does not exist"."""
        lines = [line for line in stderr.splitlines() if line.strip()]
        return bool(lines) and all("does not exist" in line for line in lines)


class SGEWorkflowProxy(BaseRemoteWorkflowProxy):
    """``--workflow sge``: the branches run as Grid Engine array tasks."""

    workflow_type = "sge"

    def task_defaults(self, config: JobConfig) -> None:
        """``--sge-queue`` beats ``[sge] queue``; jobs get pipekit's variables (qsub passes
        no environment without ``-V``); the job-config hook comes after both."""
        queue = self.task.sge_queue
        if queue not in (None, "", NO_STR):
            config.queue = queue
        config.env.update(self.pipekit_environment())


class SGEWorkflow(BaseRemoteWorkflow):
    """
    Workflow mixin: ``--workflow sge`` submits the missing branches as Grid Engine array jobs.
    Hooks (all optional): :meth:`sge_output_directory`, :meth:`sge_bootstrap_file`,
    :meth:`sge_stageout_file`, :meth:`sge_job_config`, :meth:`sge_workflow_requires`,
    :meth:`sge_check_job_completeness`, :meth:`sge_poll_callback`, :meth:`sge_job_resources`;
    defaults come from the ``[sge]`` and ``[job]`` sections of law.cfg.
    """

    exclude_index = True
    workflow_proxy_cls = SGEWorkflowProxy

    sge_queue = luigi.Parameter(default=NO_STR, significant=False,
                                description="Grid Engine queue (qsub -q); default: [sge] queue "
                                "in law.cfg, else the cell's choice")

    exclude_params_branch = {"sge_queue"}  # united with the bases' sets

    def sge_output_directory(self) -> Any:
        """Where the ledger and job files go (a local directory or directory target).
        Default: the directory of the first branch's first output."""
        return None

    def sge_bootstrap_file(self) -> Any:
        """A bash file sourced by each job before Python starts (path or JobInputFile).
        Default: ``[sge] bootstrap_file``, else ``[job] bootstrap_file``, else none."""
        return None

    def sge_stageout_file(self) -> Any:
        """A bash file sourced by each job after its branches ran, with their exit code as ``$1``
        (path or JobInputFile); failing makes the job fail with exit code 4 and be resubmitted.
        Default: ``[sge] stageout_file``, else ``[job] stageout_file``, else none."""
        return None

    def sge_job_config(self, config: SGEJobConfig, job_num: int, branches: list[int]) -> SGEJobConfig:
        """Change the settings of a submission (queue, project, walltime, memory, cpus,
        parallel_environment, gpus, extra_args, custom_content, env, python, bootstrap_file,
        stageout_file). Called once per submission (one array): *job_num* is its first job,
        *branches* all branches it runs. Return the config."""
        return config

    def sge_workflow_requires(self) -> Any:
        """Requirements of the Grid Engine workflow besides ``workflow_requires()`` (kept with --pilot)."""
        return {}

    def sge_check_job_completeness(self) -> bool:
        """Whether a finished job's branch outputs are checked (the node already checks them)."""
        return False

    def sge_poll_callback(self, poll_data: Any) -> Any:
        """Called every poll cycle with a :class:`pipekit.job.loop.PollData`; return False to stop polling."""
        return None

    def sge_job_resources(self, job_num: int, branches: list[int]) -> dict[str, int]:
        """luigi resources one job uses (summed over the jobs that may run at once)."""
        return {}

    def sge_job_manager_cls(self) -> type:
        return SGEJobManager

    def sge_create_job_manager(self, **kwargs: Any) -> SGEJobManager:
        return self.sge_job_manager_cls()(**kwargs)

    def sge_job_file_factory_cls(self) -> type:
        return SGEJobFileFactory

    def sge_create_job_file_factory(self, **kwargs: Any) -> SGEJobFileFactory:
        return self.sge_job_file_factory_cls()(**kwargs)

    def process_resources(self) -> dict[str, int]:
        """luigi resources: for the workflow, those of the jobs that may run at the same time."""
        if self.is_branch() or type(self).sge_job_resources is SGEWorkflow.sge_job_resources:
            return super().process_resources()
        return self.summed_job_resources(self.sge_job_resources)

