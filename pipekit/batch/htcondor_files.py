"""
The two files of an HTCondor submission, written by :class:`HTCondorJobFileFactory` with the
settings of an :class:`HTCondorJobConfig`:

- ``job.sub``, the submit description: one cluster, ``queue pk_index, pk_job, pk_branches from
  ( ... )`` with one item per job (its index, ledger job number and branches), per-job output,
  error and event-log files, resources, the throttle (``max_materialize``) and, without a shared
  file system, the transfer lists. This is what ``--dry-run`` prints and what the tests read with
  HTCondor's own parser.
- ``job.sh``, the bash wrapper every job runs with its index as argument: stderr joins stdout,
  the bootstrap file is sourced, ``python -m pipekit.job spec_<index>.json`` runs, and an
  optional stage-out file is sourced after it (these lines are shared with every batch system:
  :meth:`pipekit.job.base.BaseJobFileFactory.node_lines`). With file transfer it works in
  ``$_CONDOR_SCRATCH_DIR``, where HTCondor put the transferred files.

Parameter values never appear in either file: they are in the job specs (JSON).
"""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pipekit.config import Config
from pipekit.errors import UsageError
from pipekit.job.base import BaseJobFileFactory, JobConfig, JobFile, SubmissionPlan, config_seconds
from pipekit.job.patterns import literal_path
from pipekit.ranges import join_ranges

__all__ = ["HTCondorJobConfig", "HTCondorJobFileFactory"]


@dataclass
class HTCondorJobConfig(JobConfig):
    """
    :class:`JobConfig` plus the HTCondor settings of a submission (None: the pool's default).
    ``custom_content`` lines are added to the submit description after pipekit's own (later
    lines win): ``("priority", 5)`` becomes ``priority = 5``, a string is taken as it is.
    ``extra_args`` are condor_submit options.
    """

    universe: str = "vanilla"
    #: a ClassAd expression, e.g. ``'OpSys == "LINUX"'``
    requirements: str | None = None
    cpus: int | None = None
    #: request_memory: a number of MB, or e.g. "2 GB"
    memory: Any = None
    #: request_disk: a number of KB, or e.g. "10 GB"
    disk: Any = None
    gpus: int | None = None
    #: +MaxRuntime (the time limit many pools use): seconds, or a duration such as "2h"
    max_runtime: Any = None
    accounting_group: str | None = None
    #: most idle jobs of the cluster materialized at once (max_idle)
    max_idle: int | None = None
    #: False: no shared file system; job files travel with HTCondor's file transfer
    shared_filesystem: bool = True
    #: more files the job gets in its directory in file-transfer mode (paths or JobInputFiles)
    input_files: list[Any] = field(default_factory=list)
    notification: str = "Never"
    #: the branches of each job of the submission, ``{job_num: branches}`` (set by pipekit, shown
    #: as the job attribute ``PipekitBranches``)
    job_branches: dict[int, list[int]] = field(default_factory=dict)

    # what the retry policy scales after out-of-memory and time-limit failures
    memory_field: ClassVar[str | None] = "memory"
    walltime_field: ClassVar[str | None] = "max_runtime"

    def format_memory(self, megabytes: int) -> Any:
        """request_memory in MB, HTCondor's unit for plain numbers."""
        return int(megabytes)


def _value(value: Any, what: str) -> str:
    """*value* for one line of the submit description (macros are pipekit's, not the value's)."""
    text = str(value).strip()
    if "\n" in text or "\r" in text:
        raise UsageError(f"HTCondor {what} {value!r} contains a newline")
    return text


def _path(path: str, what: str, job_file: str = "") -> str:
    """
    A path in the submit description, optionally joined with a *job_file* name holding pipekit's
    ``$(pk_index)`` macro: a ``$`` of the path itself must not start a macro, and ``,`` separates
    the items of file lists.
    """
    text = _value(path, what)
    if "," in text or '"' in text:
        raise UsageError(f"the path of the {what} ({text}) contains ',' or '\"', which HTCondor's "
                         "submit language cannot carry; choose another directory")
    text = literal_path(text, "htcondor", what)
    return os.path.join(text, job_file) if job_file else text


def _name(path_with_index: str) -> str:
    """The file name part of a per-job path such as ``plan.log_file("$(pk_index)")``."""
    return os.path.basename(path_with_index)


class HTCondorJobFileFactory(BaseJobFileFactory):
    """
    Writes the two files of a submission: the submit description ``job.sub`` (what
    :meth:`render` returns and ``--dry-run`` prints) and the bash wrapper ``job.sh`` every job
    runs with its index as argument (:meth:`render_wrapper`).
    """

    script_name = "job.sub"
    script_label = "submit description"
    walltime_field = "max_runtime"
    wrapper_name = "job.sh"
    #: where a job finds its transferred files in file-transfer mode (its scratch directory)
    scratch_dir = '"${_CONDOR_SCRATCH_DIR:-$PWD}"'

    def new_config(self) -> HTCondorJobConfig:
        """A config with the defaults of the ``[htcondor]`` section of law.cfg."""
        cfg = Config.instance()
        get = cfg.get_expanded
        config = HTCondorJobConfig(
            universe=get("htcondor", "universe", None) or "vanilla",
            requirements=get("htcondor", "requirements", None),
            cpus=cfg.get_expanded_int("htcondor", "cpus", None),
            memory=get("htcondor", "memory", None),
            disk=get("htcondor", "disk", None),
            gpus=cfg.get_expanded_int("htcondor", "gpus", None),
            max_runtime=get("htcondor", "max_runtime", None),
            accounting_group=get("htcondor", "accounting_group", None),
            max_idle=cfg.get_expanded_int("htcondor", "max_idle", None),
            shared_filesystem=cfg.get_expanded_bool("htcondor", "shared_filesystem", True),
        )
        lines = get("htcondor", "submit_lines", None) or ""
        config.custom_content = [line.strip() for line in lines.splitlines() if line.strip()]
        config.extra_args = shlex.split(get("htcondor", "submit_args", None) or "")
        return config

    # -- files ----------------------------------------------------------------------------------

    def job_files(self, plan: SubmissionPlan, config: JobConfig) -> list[JobFile]:
        """The submit description ``job.sub`` (submitted) and the wrapper ``job.sh`` (run)."""
        wrapper = os.path.join(plan.directory, self.wrapper_name)
        return [JobFile(self.script_label, os.path.join(plan.directory, self.script_name),
                        self.render(plan, config), executable=False),
                JobFile("job wrapper (every job runs it with its index)", wrapper,
                        self.render_wrapper(plan, config))]

    def input_files(self, config: JobConfig) -> list[Any]:
        """The bootstrap and stage-out files, bundle archives, and ``input_files`` (all sent in
        file-transfer mode)."""
        return super().input_files(config) + list(getattr(config, "input_files", []))

    def resolve_inputs(self, plan: SubmissionPlan, config: JobConfig, write: bool = True) -> None:
        """Also resolve ``input_files`` (copied into the submission directory, like the others)."""
        super().resolve_inputs(plan, config, write)
        if isinstance(config, HTCondorJobConfig):
            config.input_files = [self.provide_input(plan, config, f, write, what="input_files")
                                  for f in config.input_files if f not in (None, "")]

    # -- the submit description -----------------------------------------------------------------

    def render(self, plan: SubmissionPlan, config: JobConfig) -> str:
        c = config if isinstance(config, HTCondorJobConfig) else HTCondorJobConfig(**vars(config))
        n, d, idx = len(plan), plan.directory, "$(pk_index)"
        lines = [
            f"# pipekit submit description: submission {plan.tag}, {n} job(s) in one cluster "
            f"(ledger jobs {plan.job_nums[0]}..{plan.job_nums[-1]})",
            f"# each job runs the bash wrapper {self.wrapper_name} with its index: it sources the "
            "bootstrap file and runs python -m pipekit.job with spec_<index>.json",
            f"universe = {_value(c.universe, 'universe')}",
            f"executable = {_path(os.path.join(d, self.wrapper_name), 'job wrapper')}",
            'arguments = "$(pk_index)"',
            f"initialdir = {_path(plan.cwd, 'working directory')}",
            f"batch_name = {_value(plan.job_name, 'batch name')}",
            f"output = {_path(d, 'job directory', _name(plan.log_file(idx)))}",
            f"error = {_path(d, 'job directory', f'err_{idx}.txt')}",
            f"log = {_path(d, 'job directory', f'condor_{idx}.log')}",
            f"notification = {_value(c.notification, 'notification')}",
            'environment = "LAW_HTCONDOR_JOB_CLUSTER=$(ClusterId) LAW_HTCONDOR_JOB_PROCESS=$(ProcId)"',
            f'+PipekitTag = "{_value(plan.tag, "submission tag")}"',
            "+PipekitJobNum = $(pk_job)",
            '+PipekitBranches = "$(pk_branches)"',
        ]
        lines += self._transfer_lines(plan, c) + self._resource_lines(plan, c)
        lines += [self.create_line(item) for item in c.custom_content]
        return "\n".join(lines + self.queue_lines(plan, c.job_branches)) + "\n"

    def _transfer_lines(self, plan: SubmissionPlan, c: HTCondorJobConfig) -> list[str]:
        if c.shared_filesystem:
            return ["should_transfer_files = NO"]
        # every input file, bundle archives included (resolved: the paths the jobs use)
        files = [str(p) for p in self.input_files(c) if p not in (None, "")]
        spec = _name(plan.spec_file("$(pk_index)"))
        names = [spec] + [os.path.basename(p) for p in files]
        clash = sorted({n for n in names if names.count(n) > 1})
        if clash:
            raise UsageError(f"job input files share the name(s) {', '.join(clash)}; in HTCondor's "
                             "file-transfer mode they land in one directory, so rename them")
        status = _name(plan.status_file("$(pk_index)"))
        inputs = [_path(plan.directory, "job directory", spec)]
        inputs += [_path(p, "job input file") for p in files]
        return [
            "should_transfer_files = YES",
            "when_to_transfer_output = ON_EXIT",
            "transfer_input_files = " + ", ".join(inputs),
            f"transfer_output_files = {status}",
            f'transfer_output_remaps = "{status} = {_path(plan.directory, "job directory", status)}"',
        ]

    def _resource_lines(self, plan: SubmissionPlan, c: HTCondorJobConfig) -> list[str]:
        lines = []
        if c.cpus:
            lines.append(f"request_cpus = {int(c.cpus)}")
        if c.memory not in (None, ""):
            lines.append(f"request_memory = {_value(c.memory, 'memory request')}")
        if c.disk not in (None, ""):
            lines.append(f"request_disk = {_value(c.disk, 'disk request')}")
        if c.gpus:
            lines.append(f"request_gpus = {int(c.gpus)}")
        if c.requirements:
            lines.append(f"requirements = {_value(c.requirements, 'requirements')}")
        if c.max_runtime not in (None, ""):
            lines.append(f"+MaxRuntime = {config_seconds(c.max_runtime, 'HTCondor max_runtime')}")
        if c.accounting_group:
            lines.append(f"accounting_group = {_value(c.accounting_group, 'accounting group')}")
        if plan.parallel:
            lines.append(f"max_materialize = {int(plan.parallel)}")
        if c.max_idle:
            lines.append(f"max_idle = {int(c.max_idle)}")
        return lines

    @staticmethod
    def queue_lines(plan: SubmissionPlan, branches: dict[int, list[int]] | None = None) -> list[str]:
        """``queue pk_index, pk_job, pk_branches from ( ... )``: one item per job, in order."""
        lines = ["queue pk_index, pk_job, pk_branches from ("]
        for i, num in enumerate(plan.job_nums):
            bs = (branches or {}).get(num)
            lines.append(f"{i}, {num}, {join_ranges(bs) if bs else '-'}")
        return lines + [")"]

    @staticmethod
    def create_line(item: Any) -> str:
        """``("priority", 5)`` -> ``priority = 5``; a string is taken as one line."""
        if isinstance(item, str):
            line = item.strip()
        elif isinstance(item, (list, tuple)) and len(item) == 2:
            line = f"{str(item[0]).strip()} = {str(item[1]).strip()}"
        else:
            raise UsageError(f"cannot turn {item!r} into a submit description line; use "
                             "('key', 'value') or a string")
        if "\n" in line or "\r" in line:
            raise UsageError(f"submit description line {line!r} contains a newline")
        if re.match(r"^queue\b", line, re.I):
            raise UsageError(f"submit description line {line!r}: pipekit writes the queue statement")
        return line

    # -- the job's bash wrapper -----------------------------------------------------------------

    def render_wrapper(self, plan: SubmissionPlan, config: JobConfig) -> str:
        """The bash wrapper every job of *plan* runs with its index as first argument."""
        shared = getattr(config, "shared_filesystem", True)
        lines = ["#!/usr/bin/env bash",
                 f"# pipekit job wrapper of HTCondor submission {plan.tag} ({len(plan)} jobs); "
                 "argument 1 is the job's index in it",
                 "exec 2>&1  # one log per job: stderr joins stdout"]
        node = self.node_lines(plan, config, "$1", job_dir=None if shared else self.scratch_dir)
        if not shared:
            # HTCondor holds a job whose transfer_output_files do not exist: start with an empty one
            at = next(i for i, line in enumerate(node) if line.startswith("pk_status=")) + 1
            node.insert(at, ': > "$pk_status"')
        return "\n".join(lines + node) + "\n"
