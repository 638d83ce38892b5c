"""
Slurm: :class:`SlurmJobManager` (sbatch / squeue / sacct / scontrol / scancel),
:class:`SlurmJobFileFactory` (the batch script), :class:`SlurmJobConfig`, and the workflow type
:class:`SlurmWorkflow` (``--workflow slurm``) with its ``slurm_*`` hooks.

- One ``sbatch --array=0-N%P`` per submission (``MaxArraySize`` jobs at most), never one per job.
- One ``squeue`` per poll cycle for all active jobs (by array id, ``--states=all``). Jobs it no
  longer lists are asked from ``sacct`` once per cycle when the cluster has accounting (detected
  on first use: without slurmdbd ``sacct`` says "accounting storage is disabled" and is not
  asked again). ``scontrol`` (one call per array) answers when ``squeue`` itself failed. What
  none of them knows, the loop takes from the job's exit-status file.
- Job names are ``pk_<Family>_<tag>``, so a submission whose ids were never recorded (the
  submitting process was killed) is found again with ``squeue --name``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import luigi

from pipekit.config import Config
from pipekit.errors import CommandError, JobError, UsageError
from pipekit.job.arrays import ArrayIds, ArrayJobManager
from pipekit.job.base import (
    CANCELLED,
    EXIT_CODE,
    FAILED,
    FINISHED,
    NODE_FAILURE,
    OOM,
    PENDING,
    PREEMPTED,
    RUNNING,
    WALLTIME,
    BaseJobFileFactory,
    JobConfig,
    JobState,
    SubmissionPlan,
    config_seconds,
)
from pipekit.job.patterns import per_job_path
from pipekit.job.resources import ResourceJobConfig, read_resources
from pipekit.job.states import StateVocabulary, signal_exit_code
from pipekit.parameter import NO_STR
from pipekit.shell import run_command
from pipekit.workflow.remote import BaseRemoteWorkflow, BaseRemoteWorkflowProxy

__all__ = ["SlurmJobConfig", "SlurmJobManager", "SlurmJobFileFactory", "SlurmWorkflow",
           "SlurmWorkflowProxy", "get_slurm_version", "map_slurm_state", "SLURM_STATES",
           "slurm_log_reason"]

#: Slurm's job states (squeue %T, sacct State, scontrol JobState) and what they mean to pipekit
SLURM_STATES = StateVocabulary("Slurm", {
    PENDING: dict.fromkeys(("PENDING", "CONFIGURING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED",
                            "RESV_DEL_HOLD")),
    RUNNING: dict.fromkeys(("RUNNING", "COMPLETING", "STAGE_OUT", "SIGNALING", "RESIZING",
                            "SUSPENDED", "STOPPED")),
    FINISHED: {"COMPLETED": None},
    FAILED: {"FAILED": EXIT_CODE, "CANCELLED": CANCELLED, "TIMEOUT": WALLTIME,
             "NODE_FAIL": NODE_FAILURE, "PREEMPTED": PREEMPTED, "BOOT_FAIL": NODE_FAILURE,
             "DEADLINE": WALLTIME, "OUT_OF_MEMORY": OOM, "SPECIAL_EXIT": EXIT_CODE,
             "REVOKED": CANCELLED},
})


def map_slurm_state(native: str) -> str | None:
    """pipekit's status for a Slurm job state (``"CANCELLED by 0"`` -> failed); None if unknown."""
    return SLURM_STATES.status(native)


# what slurmstepd writes into a job's output when it ends the job: a job that left the queue
# before a poll saw its state (no accounting), or one killed by jobacct_gather's OverMemoryKill
# (which Slurm reports as FAILED), is still recognised by its log
_LOG_REASONS = (
    (re.compile(r"\*\*\* JOB \S+ ON \S+ CANCELLED AT \S+ DUE TO TIME LIMIT"), WALLTIME),
    (re.compile(r"\*\*\* JOB \S+ ON \S+ CANCELLED AT \S+ DUE TO PREEMPTION"), PREEMPTED),
    (re.compile(r"\*\*\* JOB \S+ ON \S+ CANCELLED AT \S+ DUE TO NODE FAILURE"), NODE_FAILURE),
    # cgroup enforcement ("Detected 1 oom-kill event(s) in StepId=...") and jobacct_gather's
    # OverMemoryKill ("StepId=... exceeded memory limit (... > ...), being killed")
    (re.compile(r"Detected \d+ oom[-_]kill event|exceeded (?:job |step )?memory limit", re.I), OOM),
)


def slurm_log_reason(text: str) -> str | None:
    """The failure reason slurmstepd's messages in a job's log give, or None."""
    for pattern, reason in _LOG_REASONS:
        if pattern.search(text):
            return reason
    return None


_slurm_version: tuple[int, ...] | None = None


def get_slurm_version() -> tuple[int, ...] | None:
    """The installed Slurm version as a tuple, e.g. ``(22, 5, 8)``; None without Slurm."""
    global _slurm_version
    if _slurm_version is None:
        try:
            out = run_command(["sbatch", "--version"], timeout=10).stdout
        except CommandError:
            return None
        m = re.search(r"(\d+)\.(\d+)\.(\d+)", out)
        _slurm_version = tuple(int(x) for x in m.groups()) if m else None
    return _slurm_version


@dataclass
class SlurmJobConfig(ResourceJobConfig):
    """:class:`ResourceJobConfig` (walltime, memory, cpus, gpus) plus the Slurm partition."""

    partition: str | None = None


def sbatch_resource_args(config: SlurmJobConfig) -> list[str]:
    """The sbatch options for the resources in *config*."""
    args = []
    if config.partition:
        args.append(f"--partition={config.partition}")
    if config.walltime:
        args.append(f"--time={config_seconds(config.walltime, 'Slurm walltime', unit=60)}")
    if config.memory:
        args.append(f"--mem={config.memory}")
    if config.cpus:
        args.append(f"--cpus-per-task={int(config.cpus)}")
    if config.gpus:
        args.append(f"--gres=gpu:{int(config.gpus)}")
    return args + [str(a) for a in config.extra_args]


class SlurmJobFileFactory(BaseJobFileFactory):
    """Writes the bash batch script of one Slurm array submission."""

    script_name = "job.sh"

    def new_config(self) -> SlurmJobConfig:
        """A config with the defaults of the ``[slurm]`` section of law.cfg."""
        config = SlurmJobConfig(partition=Config.instance().get_expanded("slurm", "partition", None))
        return read_resources(config, "slurm", "sbatch_args")

    def render(self, plan: SubmissionPlan, config: JobConfig) -> str:
        n = len(plan)
        lines = ["#!/usr/bin/env bash",
                 f"# pipekit batch script: submission {plan.tag}, {n} job(s) as Slurm array "
                 f"indices 0-{n - 1} (ledger jobs {plan.job_nums[0]}..{plan.job_nums[-1]})",
                 "# sbatch options (array, job name, output, chdir, resources) are on the "
                 "sbatch command line"]
        for item in config.custom_content:
            lines.append(self.create_line(item))
        lines += self.node_lines(plan, config, "${SLURM_ARRAY_TASK_ID:-0}")
        return "\n".join(lines) + "\n"

    @staticmethod
    def create_line(item: Any) -> str:
        """``("mem", "2G")`` -> ``#SBATCH --mem=2G``; ``("exclusive",)`` -> ``#SBATCH --exclusive``."""
        if isinstance(item, str):
            line = item.strip()
        elif isinstance(item, (list, tuple)) and len(item) in (1, 2):
            line = f"#SBATCH --{str(item[0]).strip()}"
            if len(item) == 2:
                value = str(item[1]).strip()
                if re.search(r"\s", value):  # sbatch splits directives at whitespace
                    if '"' in value:
                        raise UsageError(f"batch script option {item!r}: a value with spaces "
                                         "cannot also contain double quotes")
                    value = f'"{value}"'
                line += f"={value}"
        else:
            raise UsageError(f"cannot turn {item!r} into a batch script line; use ('key', 'value') or a string")
        if "\n" in line:
            raise UsageError(f"batch script line {line!r} contains a newline")
        return line


class SlurmJobManager(ArrayJobManager):
    """Submits, queries and cancels Slurm jobs with the Slurm command-line tools."""

    batch_system = "Slurm"
    config_section = "slurm"
    ids = ArrayIds("_", first_index=0)

    def __init__(self, partition: str | None = None, timeout: float | None = None, **kwargs: Any):
        super().__init__(timeout=timeout)
        self.partition = partition

    # -- submitting -----------------------------------------------------------------------------

    def submit_command(self, plan: SubmissionPlan, script: str, config: JobConfig) -> list[str]:
        first, last = self.ids.index_range(plan)
        array = str(first) if first == last else f"{first}-{last}"
        if plan.parallel:
            array += f"%{int(plan.parallel)}"
        # a '%' of the job directory itself must not become a Slurm filename pattern
        log = per_job_path(plan.log_file, "%a", "slurm", "job directory")
        cmd = ["sbatch", "--parsable", f"--array={array}", f"--job-name={plan.job_name}",
               f"--output={log}", f"--chdir={plan.start_dir(config)}"]
        if self.partition and not getattr(config, "partition", None):
            cmd.append(f"--partition={self.partition}")
        if isinstance(config, SlurmJobConfig):
            cmd += sbatch_resource_args(config)
        else:
            cmd += [str(a) for a in config.extra_args]
        return cmd + [script]

    def reason_from_log(self, text: str) -> str | None:
        """Time limit, preemption, node failure or memory limit, from slurmstepd's messages."""
        return slurm_log_reason(text)

    def parse_submit_output(self, stdout: str) -> str | None:
        m = re.match(r"^(\d+)", stdout.splitlines()[-1] if stdout else "")
        return m.group(1) if m else None

    def ask_max_array_size(self) -> int | None:
        """Slurm's ``MaxArraySize`` (``[slurm] max_array_size`` skips asking)."""
        out = self.run(["scontrol", "show", "config"]).stdout
        m = re.search(r"^MaxArraySize\s*=\s*(\d+)", out, re.M)
        return int(m.group(1)) if m else None

    # -- querying -------------------------------------------------------------------------------

    def query_queue(self, arrays: list[str]) -> tuple[dict[str, JobState], str | None]:
        cmd = ["squeue", "--noheader", "--array", "--states=all", "--format=%i|%T|%r",
               f"--jobs={','.join(arrays)}"]
        proc = self.run(cmd, check=False)
        if proc.returncode != 0:
            if "invalid job id" in proc.stderr.lower():
                return {}, None  # all of them left the queue
            return {}, CommandError(cmd, proc.returncode, proc.stderr).args[0]
        out: dict[str, JobState] = {}
        for line in proc.stdout.splitlines():
            parts = line.strip().split("|")
            if len(parts) < 2:
                continue
            status = map_slurm_state(parts[1])
            reason = parts[2] if len(parts) > 2 and parts[2] not in ("None", "") else None
            for job_id in _expand_ids(parts[0]):
                out[job_id] = JobState(job_id, status or FAILED, None,
                                       reason if status == FAILED or status is None else None,
                                       "squeue", reason=SLURM_STATES.reason(parts[1]))
        return out, None

    def query_accounting(self, arrays: list[str]) -> dict[str, JobState]:
        cmd = ["sacct", "--noheader", "--parsable2", "--allocations",
               "--format=JobID,State,ExitCode", f"--jobs={','.join(arrays)}"]
        proc = self.run(cmd, check=False)
        if proc.returncode != 0:
            if "disabled" in proc.stderr.lower():
                self.accounting_answered(False)
            return {}  # slurmdbd unreachable: the exit-status files answer instead
        self.accounting_answered(True)
        out: dict[str, JobState] = {}
        for line in proc.stdout.splitlines():
            parts = line.strip().split("|")
            if len(parts) < 3 or "[" in parts[0]:
                continue
            status = map_slurm_state(parts[1])
            code = _exit_code(parts[2])
            reason = SLURM_STATES.reason(parts[1])
            if status == FINISHED and code:
                status, reason = FAILED, EXIT_CODE
            out[parts[0]] = JobState(parts[0], status or FAILED, code,
                                     parts[1] if status != FINISHED else None, "sacct",
                                     reason=reason)
        return out

    def query_fallback(self, arrays: list[str], queue_error: str) -> dict[str, JobState]:
        """``scontrol show job`` per array, when squeue itself failed."""
        out: dict[str, JobState] = {}
        for array in arrays:
            proc = self.run(["scontrol", "--oneliner", "show", "job", array], check=False)
            if proc.returncode != 0:
                if "invalid job id" in proc.stderr.lower():
                    continue
                raise JobError(f"squeue and scontrol failed: {queue_error}")
            for line in proc.stdout.splitlines():
                f = dict(kv.split("=", 1) for kv in line.split() if "=" in kv)
                if "JobState" not in f:
                    continue
                task = f.get("ArrayTaskId")
                job_id = f"{f.get('ArrayJobId', f.get('JobId'))}_{task}" if task else f["JobId"]
                status = map_slurm_state(f["JobState"])
                code = _exit_code(f.get("ExitCode", ""))
                out[job_id] = JobState(job_id, status or FAILED, code,
                                       f.get("Reason") if status == FAILED else None, "scontrol",
                                       reason=SLURM_STATES.reason(f["JobState"]))
        return out

    def find_in_queue(self, job_name: str) -> list[str]:
        cmd = ["squeue", "--noheader", "--array", "--states=all", "--format=%i",
               f"--name={job_name}"]
        return [i for line in self.run(cmd).stdout.split() for i in _expand_ids(line)]

    def find_in_accounting(self, job_name: str) -> list[str] | None:
        cmd = ["sacct", "--noheader", "--parsable2", "--allocations", "--format=JobID",
               f"--name={job_name}", "--starttime=1970-01-01"]
        proc = self.run(cmd, check=False)
        if proc.returncode != 0 and "disabled" in proc.stderr.lower():
            self.accounting_answered(False)
            return None
        if proc.returncode != 0:
            return []
        return [i for line in proc.stdout.split() for i in _expand_ids(line)]

    # -- cancelling -----------------------------------------------------------------------------

    def cancel_command(self, job_ids: list[str]) -> list[str]:
        return ["scancel", *job_ids]


def _exit_code(raw: str) -> int | None:
    """``"1:0"`` -> 1; ``"0:15"`` (killed by signal 15) -> 143."""
    m = re.match(r"^(\d+):(\d+)$", raw.strip())
    if not m:
        return None
    code, sig = int(m.group(1)), int(m.group(2))
    return signal_exit_code(sig) if sig and not code else code


def _expand_ids(raw: str) -> list[str]:
    """``"12_3"`` -> ``["12_3"]``; ``"12_[1-3,7%2]"`` -> ``["12_1", "12_2", "12_3", "12_7"]``."""
    raw = raw.strip()
    m = re.match(r"^(\d+)_\[([^\]]*)\]$", raw)
    if not m:
        return [raw] if raw else []
    return SlurmJobManager.ids.expand(m.group(1), m.group(2))


class SlurmWorkflowProxy(BaseRemoteWorkflowProxy):
    """``--workflow slurm``: the branches run as Slurm array jobs."""

    workflow_type = "slurm"

    def task_defaults(self, config: JobConfig) -> None:
        """``--slurm-partition`` beats ``[slurm] partition``; the job-config hook beats both."""
        partition = self.task.slurm_partition
        if partition not in (None, "", NO_STR):
            config.partition = partition


class SlurmWorkflow(BaseRemoteWorkflow):
    """
    Workflow mixin: ``--workflow slurm`` submits the missing branches as Slurm array jobs. Hooks
    (all optional): :meth:`slurm_output_directory`, :meth:`slurm_bootstrap_file`,
    :meth:`slurm_stageout_file`, :meth:`slurm_job_config`, :meth:`slurm_workflow_requires`,
    :meth:`slurm_check_job_completeness`, :meth:`slurm_poll_callback`,
    :meth:`slurm_job_resources`; defaults come from the ``[slurm]`` and ``[job]`` sections of
    law.cfg.
    """

    exclude_index = True
    workflow_proxy_cls = SlurmWorkflowProxy

    slurm_partition = luigi.Parameter(default=NO_STR, significant=False,
                                      description="Slurm partition; default: [slurm] partition "
                                      "in law.cfg, else the cluster's default")

    exclude_params_branch = {"slurm_partition"}  # united with the bases' sets

    def slurm_output_directory(self) -> Any:
        """Where the ledger and job files go (a local directory or directory target).
        Default: the directory of the first branch's first output."""
        return None

    def slurm_bootstrap_file(self) -> Any:
        """A bash file sourced by each job before Python starts (path or JobInputFile).
        Default: ``[slurm] bootstrap_file``, else ``[job] bootstrap_file``, else none."""
        return None

    def slurm_stageout_file(self) -> Any:
        """A bash file sourced by each job after its branches ran, with their exit code as ``$1``
        (path or JobInputFile); failing makes the job fail with exit code 4 and be resubmitted.
        Default: ``[slurm] stageout_file``, else ``[job] stageout_file``, else none."""
        return None

    def slurm_job_config(self, config: SlurmJobConfig, job_num: int, branches: list[int]) -> SlurmJobConfig:
        """Change the settings of a submission (partition, walltime, memory, cpus, gpus,
        extra_args, custom_content, env, python, bootstrap_file, stageout_file). Called once per
        submission (one array): *job_num* is its first job, *branches* all branches it runs.
        Return the config."""
        return config

    def slurm_workflow_requires(self) -> Any:
        """Requirements of the Slurm workflow besides ``workflow_requires()`` (kept with --pilot)."""
        return {}

    def slurm_check_job_completeness(self) -> bool:
        """Whether a finished job's branch outputs are checked (the node already checks them)."""
        return False

    def slurm_poll_callback(self, poll_data: Any) -> Any:
        """Called every poll cycle with a :class:`pipekit.job.loop.PollData`; return False to stop polling."""
        return None

    def slurm_job_resources(self, job_num: int, branches: list[int]) -> dict[str, int]:
        """luigi resources one job uses (summed over the jobs that may run at once)."""
        return {}

    def slurm_job_manager_cls(self) -> type:
        return SlurmJobManager

    def slurm_create_job_manager(self, **kwargs: Any) -> SlurmJobManager:
        return self.slurm_job_manager_cls()(**kwargs)

    def slurm_job_file_factory_cls(self) -> type:
        return SlurmJobFileFactory

    def slurm_create_job_file_factory(self, **kwargs: Any) -> SlurmJobFileFactory:
        return self.slurm_job_file_factory_cls()(**kwargs)

    def process_resources(self) -> dict[str, int]:
        """luigi resources: for the workflow, those of the jobs that may run at the same time."""
        if self.is_branch() or type(self).slurm_job_resources is SlurmWorkflow.slurm_job_resources:
            return super().process_resources()
        return self.summed_job_resources(self.slurm_job_resources)

