"""
IBM Spectrum LSF: :class:`LSFJobManager` (bsub / bjobs / bhist / bkill),
:class:`LSFJobFileFactory` (the batch script), :class:`LSFJobConfig`, and the workflow type
:class:`LSFWorkflow` (``--workflow lsf``) with its ``lsf_*`` hooks, named as in law's ``lsf``
package. The shared array logic is :class:`pipekit.job.arrays.ArrayJobManager`; what the
commands print is read in :mod:`pipekit.batch.lsf_status`.

- One ``bsub -J "pk_<Family>_<tag>[1-N]%P"`` array per submission (``%P`` for
  ``--parallel-jobs``; at most ``MAX_JOB_ARRAY_SIZE`` elements), never one per job; element
  ``i`` (from 1) runs plan position ``i - 1`` and writes ``log_<i>.txt`` (``-o .../log_%I.txt``).
  Options are on the bsub command line and the script is bsub's command, so ``custom_content``
  tuples become bsub options (LSF reads ``#BSUB`` lines only from a script on stdin).
- One ``bjobs -a -json -o "..."`` per poll cycle naming the arrays (``-noheader -o "...
  delimiter='|'"`` where the LSF version has no ``-json``: learnt from the first refusal, or
  ``[lsf] bjobs_json``). bjobs keeps ended jobs for ``CLEAN_PERIOD`` (1 h by default);
  elements it no longer lists are asked from ``bhist -l`` once per cycle, then the job's
  exit-status file answers.
- ``bkill`` for ``--cancel-jobs``; a lost submission is found again with ``bjobs -J <name>``,
  then ``bhist -J <name>``.

No LSF daemons can be installed on the development machines: this module is tested on the
documented output formats and with a stand-in that runs the job scripts for real (docs/lsf.md).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from typing import Any

import luigi

from pipekit.batch import lsf_status as st
from pipekit.config import Config
from pipekit.errors import CommandError, UsageError
from pipekit.job.arrays import ArrayJobManager
from pipekit.job.base import BaseJobFileFactory, JobConfig, JobState, SubmissionPlan, config_seconds
from pipekit.job.patterns import LSF_PATH_PATTERNS
from pipekit.job.resources import ResourceJobConfig, config_megabytes, read_resources
from pipekit.parameter import NO_STR
from pipekit.shell import run_command
from pipekit.workflow.remote import BaseRemoteWorkflow, BaseRemoteWorkflowProxy

__all__ = ["LSFJobConfig", "LSFJobManager", "LSFJobFileFactory", "LSFWorkflow",
           "LSFWorkflowProxy", "get_lsf_version", "bsub_resource_args", "lsf_path"]

_lsf_version: tuple[int, ...] | None = None


def get_lsf_version() -> tuple[int, ...] | None:
    """The installed LSF version as a tuple, e.g. ``(10, 1, 0)``; None without LSF."""
    global _lsf_version
    if _lsf_version is None:
        try:
            proc = run_command(["bjobs", "-V"], timeout=10, check=False)
        except CommandError:
            return None
        _lsf_version = st.parse_version(proc.stdout + proc.stderr)  # bjobs -V writes to stderr
    return _lsf_version


def lsf_path(directory: str, what: str) -> str:
    """
    *directory* for a bsub ``-o`` path. bsub replaces ``%J`` and ``%I`` in it and has no escape
    for them: a :class:`UsageError` naming *what* and the fix when the directory holds one.
    """
    if LSF_PATH_PATTERNS.search(directory) or "\n" in directory:
        raise UsageError(f"LSF cannot write {what} into '{directory}': bsub replaces %J and %I in "
                         "output paths and cannot escape them; use a directory without them "
                         "(lsf_output_directory())")
    return directory


@dataclass
class LSFJobConfig(ResourceJobConfig):
    """
    :class:`ResourceJobConfig` plus LSF's queue and project. ``walltime`` becomes ``-W``
    (minutes), ``memory`` ``-M`` and ``-R "rusage[mem=...]"`` (with a unit, LSF >= 10.1.0.2;
    set ``memory_unit`` to the cluster's ``LSF_UNIT_FOR_LIMITS`` for plain numbers), ``cpus``
    ``-n N -R "span[hosts=1]"``, ``gpus`` ``-gpu "num=N"``.
    """

    queue: str | None = None
    project: str | None = None
    #: None: memory values carry their unit ("2048MB"); "KB"/"MB"/"GB": plain numbers in it
    memory_unit: str | None = None


def _memory(config: LSFJobConfig) -> str:
    mb = config_megabytes(config.memory, "LSF memory")
    unit = (config.memory_unit or "").upper().rstrip("B")
    if not unit:
        return f"{mb}MB"
    scale = {"K": 1 / 1024, "M": 1, "G": 1024, "T": 1024 ** 2}.get(unit)
    if scale is None:
        raise UsageError(f"LSF memory_unit {config.memory_unit!r} is not KB, MB, GB or TB")
    return str(max(1, -(-mb // scale)) if scale >= 1 else int(mb / scale))


def option_args(items: list[Any]) -> list[str]:
    """``custom_content`` tuples as bsub options: ``("R", "select[mem>4000]")`` ->
    ``["-R", "select[mem>4000]"]``; strings are script lines, not options."""
    args: list[str] = []
    for item in items:
        if isinstance(item, (list, tuple)) and len(item) in (1, 2):
            args.append("-" + str(item[0]).strip().lstrip("-"))
            if len(item) == 2:
                args.append(str(item[1]))
        elif not isinstance(item, str):
            raise UsageError(f"cannot turn {item!r} into a bsub option; use ('key', 'value') or a string")
    return args


def bsub_resource_args(config: LSFJobConfig) -> list[str]:
    """The bsub options for the resources in *config*."""
    args = []
    if config.queue:
        args += ["-q", str(config.queue)]
    if config.project:
        args += ["-P", str(config.project)]
    if config.walltime:
        args += ["-W", str(config_seconds(config.walltime, "LSF walltime", unit=60))]
    if config.memory:
        mem = _memory(config)
        args += ["-M", mem, "-R", f"rusage[mem={mem}]"]
    if config.cpus and int(config.cpus) > 1:
        args += ["-n", str(int(config.cpus)), "-R", "span[hosts=1]"]
    if config.gpus:
        args += ["-gpu", f"num={int(config.gpus)}"]
    return args + option_args(config.custom_content) + [str(a) for a in config.extra_args]


class LSFJobFileFactory(BaseJobFileFactory):
    """Writes the bash batch script of one LSF array submission."""

    script_name = "job.sh"

    def new_config(self) -> LSFJobConfig:
        """A config with the defaults of the ``[lsf]`` section of law.cfg."""
        get = Config.instance().get_expanded
        config = LSFJobConfig(queue=get("lsf", "queue", None), project=get("lsf", "project", None),
                              memory_unit=get("lsf", "memory_unit", None))
        return read_resources(config, "lsf", "bsub_args")

    def render(self, plan: SubmissionPlan, config: JobConfig) -> str:
        first, last = st.LSF_IDS.index_range(plan)
        lines = ["#!/usr/bin/env bash",
                 f"# pipekit batch script: submission {plan.tag}, {len(plan)} job(s) as LSF array "
                 f"elements {first}-{last} (ledger jobs {plan.job_nums[0]}..{plan.job_nums[-1]})",
                 "# bsub options (array, job name, output, working directory, resources and the "
                 "custom_content options) are on the bsub command line"]
        for item in config.custom_content:
            if isinstance(item, str):
                if "\n" in item:
                    raise UsageError(f"batch script line {item!r} contains a newline")
                lines.append(item.strip())
        lines += self.node_lines(plan, config, "${LSB_JOBINDEX:-1}")
        return "\n".join(lines) + "\n"


class LSFJobManager(ArrayJobManager):
    """Submits, queries and cancels LSF job arrays with bsub, bjobs, bhist and bkill."""

    batch_system = "LSF"
    config_section = "lsf"
    ids = st.LSF_IDS
    default_max_array = 1000  # LSF's default MAX_JOB_ARRAY_SIZE

    def __init__(self, queue: str | None = None, timeout: float | None = None, **kwargs: Any):
        super().__init__(timeout=timeout)
        self.queue = queue
        setting = (Config.instance().get_expanded("lsf", "bjobs_json", "auto") or "auto").lower()
        self._json: bool | None = {"true": True, "yes": True, "false": False, "no": False}.get(setting)

    # -- submitting -----------------------------------------------------------------------------

    def submit_command(self, plan: SubmissionPlan, script: str, config: JobConfig) -> list[str]:
        first, last = self.ids.index_range(plan)
        name = f"{plan.job_name}[{first}-{last}]"
        if plan.parallel:
            name += f"%{int(plan.parallel)}"
        log = f"{lsf_path(plan.directory, 'job logs')}/log_%I.txt"
        cmd = ["bsub", "-J", name, "-o", log, "-cwd", plan.start_dir(config)]
        if self.queue and not getattr(config, "queue", None):
            cmd += ["-q", self.queue]
        if isinstance(config, LSFJobConfig):
            cmd += bsub_resource_args(config)
        else:
            cmd += option_args(config.custom_content) + [str(a) for a in config.extra_args]
        # bsub joins its command into one line that a shell runs on the host: quote the path
        return cmd + [shlex.quote(script)]

    def parse_submit_output(self, stdout: str) -> str | None:
        return st.parse_bsub_output(stdout)

    def ask_max_array_size(self) -> int | None:
        """``MAX_JOB_ARRAY_SIZE`` of ``bparams -a`` (``[lsf] max_array_size`` skips asking)."""
        out = self.run(["bparams", "-a"]).stdout
        m = re.search(r"MAX_JOB_ARRAY_SIZE\s*=\s*(\d+)", out)
        return int(m.group(1)) if m else None

    # -- querying -------------------------------------------------------------------------------

    def _bjobs(self, selection: list[str]) -> tuple[list[st.BjobsRecord], str | None]:
        """bjobs for *selection* (job ids, or ``["-J", name]``): records, or an error."""
        fields = " ".join(st.BJOBS_FIELDS)
        for use_json in ([self._json] if self._json is not None else [True, False]):
            if use_json:
                cmd = ["bjobs", "-a", "-json", "-o", fields, *selection]
            else:
                cmd = ["bjobs", "-a", "-noheader", "-o", f"{fields} delimiter='|'", *selection]
            proc = self.run(cmd, check=False)
            if use_json and proc.returncode != 0 and not proc.stdout.strip() and re.search(
                    r"json|illegal option|invalid option|unknown option", proc.stderr, re.I):
                continue  # this LSF has no -json: ask in text from now on
            self._json = use_json
            records = (st.parse_bjobs_json(proc.stdout) if use_json
                       else st.parse_bjobs_text(proc.stdout))
            if proc.returncode != 0 and not records and not _only_unknown(proc.stderr):
                return [], CommandError(cmd, proc.returncode, proc.stderr).args[0]
            return records, None
        return [], "bjobs refused both -json and -noheader -o"

    def query_queue(self, arrays: list[str]) -> tuple[dict[str, JobState], str | None]:
        records, error = self._bjobs(arrays)
        if error:
            return {}, error
        out = {}
        for record in records:
            state = st.record_state(record)
            out[state.job_id] = state
        return out, None

    def query_accounting(self, arrays: list[str]) -> dict[str, JobState]:
        states = self._bhist(arrays)
        return {s.job_id: s for s in states or []}

    def _bhist(self, selection: list[str]) -> list[JobState] | None:
        try:
            proc = self.run(["bhist", "-a", "-l", *selection], check=False)
        except CommandError:
            self.accounting_answered(False)  # no bhist (or it hangs): status files answer
            return None
        self.accounting_answered(True)
        return st.parse_bhist(proc.stdout)

    def find_in_queue(self, job_name: str) -> list[str]:
        records, error = self._bjobs(["-J", job_name])
        if error:
            raise CommandError(["bjobs", "-J", job_name], 1, error)
        return [r.element_id for r in records]

    def find_in_accounting(self, job_name: str) -> list[str] | None:
        states = self._bhist(["-J", job_name])
        return None if states is None else [s.job_id for s in states]

    # -- cancelling -----------------------------------------------------------------------------

    def cancel_command(self, job_ids: list[str]) -> list[str]:
        return ["bkill", *job_ids]

    def cancel_refusal_is_harmless(self, stderr: str) -> bool:
        """bkill of ended jobs: "Job has already finished" / "No matching job found"."""
        lines = [line for line in stderr.splitlines() if line.strip()]
        return bool(lines) and all(re.search(r"already finished|no matching job|is not found", line, re.I)
                                   for line in lines)


def _only_unknown(stderr: str) -> bool:
    """Whether bjobs only said that jobs are unknown (they ended longer ago than CLEAN_PERIOD)."""
    lines = [line for line in (stderr or "").splitlines() if line.strip()]
    return all(re.search(r"is not found|no (unfinished )?job found|no matching job", line, re.I)
               for line in lines)


class LSFWorkflowProxy(BaseRemoteWorkflowProxy):
    """``--workflow lsf``: the branches run as LSF array elements."""

    workflow_type = "lsf"

    def task_defaults(self, config: JobConfig) -> None:
        """``--lsf-queue`` beats ``[lsf] queue``; the job-config hook beats both."""
        queue = self.task.lsf_queue
        if queue not in (None, "", NO_STR):
            config.queue = queue


class LSFWorkflow(BaseRemoteWorkflow):
    """
    Workflow mixin: ``--workflow lsf`` submits the missing branches as LSF job arrays. Hooks
    (all optional): :meth:`lsf_output_directory`, :meth:`lsf_bootstrap_file`,
    :meth:`lsf_stageout_file`, :meth:`lsf_job_config`, :meth:`lsf_workflow_requires`,
    :meth:`lsf_check_job_completeness`, :meth:`lsf_poll_callback`, :meth:`lsf_job_resources`;
    defaults come from the ``[lsf]`` and ``[job]`` sections of law.cfg.
    """

    exclude_index = True
    workflow_proxy_cls = LSFWorkflowProxy

    lsf_queue = luigi.Parameter(default=NO_STR, significant=False,
                                description="LSF queue (bsub -q); default: [lsf] queue in "
                                "law.cfg, else the cluster's default queue")

    exclude_params_branch = {"lsf_queue"}  # united with the bases' sets

    def lsf_output_directory(self) -> Any:
        """Where the ledger and job files go (a local directory or directory target).
        Default: the directory of the first branch's first output."""
        return None

    def lsf_bootstrap_file(self) -> Any:
        """A bash file sourced by each job before Python starts (path or JobInputFile).
        Default: ``[lsf] bootstrap_file``, else ``[job] bootstrap_file``, else none."""
        return None

    def lsf_stageout_file(self) -> Any:
        """A bash file sourced by each job after its branches ran, with their exit code as ``$1``
        (path or JobInputFile); failing makes the job fail with exit code 4 and be resubmitted.
        Default: ``[lsf] stageout_file``, else ``[job] stageout_file``, else none."""
        return None

    def lsf_job_config(self, config: LSFJobConfig, job_num: int, branches: list[int]) -> LSFJobConfig:
        """Change the settings of a submission (queue, project, walltime, memory, memory_unit,
        cpus, gpus, extra_args, custom_content, env, python, bootstrap_file, stageout_file).
        Called once per submission (one array): *job_num* is its first job, *branches* all
        branches it runs. Return the config."""
        return config

    def lsf_workflow_requires(self) -> Any:
        """Requirements of the LSF workflow besides ``workflow_requires()`` (kept with --pilot)."""
        return {}

    def lsf_check_job_completeness(self) -> bool:
        """Whether a finished job's branch outputs are checked (the node already checks them)."""
        return False

    def lsf_poll_callback(self, poll_data: Any) -> Any:
        """Called every poll cycle with a :class:`pipekit.job.loop.PollData`; return False to stop polling."""
        return None

    def lsf_job_resources(self, job_num: int, branches: list[int]) -> dict[str, int]:
        """luigi resources one job uses (summed over the jobs that may run at once)."""
        return {}

    def lsf_job_manager_cls(self) -> type:
        return LSFJobManager

    def lsf_create_job_manager(self, **kwargs: Any) -> LSFJobManager:
        return self.lsf_job_manager_cls()(**kwargs)

    def lsf_job_file_factory_cls(self) -> type:
        return LSFJobFileFactory

    def lsf_create_job_file_factory(self, **kwargs: Any) -> LSFJobFileFactory:
        return self.lsf_job_file_factory_cls()(**kwargs)

    def process_resources(self) -> dict[str, int]:
        """luigi resources: for the workflow, those of the jobs that may run at the same time."""
        if self.is_branch() or type(self).lsf_job_resources is LSFWorkflow.lsf_job_resources:
            return super().process_resources()
        return self.summed_job_resources(self.lsf_job_resources)
