"""
The interface between the backend-independent job loop (:mod:`pipekit.job.loop`) and a batch
system: :class:`BaseJobManager` (submit one submission, bulk status, cancel, cleanup, find a
submission by its tag) and :class:`BaseJobFileFactory` (write the batch files of a submission),
plus the status model, :class:`SubmissionPlan` (what one submission contains) and
:class:`JobConfig` (what a ``<type>_job_config`` hook may change).

A backend (``pipekit/batch/slurm.py``, ``pipekit/batch/htcondor.py``) implements a manager and a
factory; the loop, the submission ledger, the job spec and the node entry point
(``python -m pipekit.job``) are shared unchanged.

How one submission works, for the author of a backend:

1. The loop creates a :class:`SubmissionPlan`: a unique *tag*, a directory, and the ledger job
   numbers in array order (array index ``i`` runs job ``plan.job_nums[i]``). It writes one job
   spec per index to ``plan.spec_file(i)``.
2. ``factory.create(plan, config)`` copies the input files (bootstrap and stage-out file) and
   writes the files of :meth:`BaseJobFileFactory.job_files`, the submitted batch script first.
   They must make index ``i`` run ``python -m pipekit.job <spec_file(i)> --status-file
   <status_file(i)>`` between the bootstrap and the stage-out file (use
   :meth:`BaseJobFileFactory.node_lines`), send the job's output to ``plan.log_file(i)`` and
   name the jobs ``plan.job_name`` so that :meth:`BaseJobManager.find_submission` can find them.
3. ``manager.submit(plan, script, config)`` submits **all indices in one interaction** (a Slurm
   array, an HTCondor cluster with ``queue ... from``) and returns one job id per index.
4. Every poll cycle the loop calls ``manager.query(ids)`` **once** for all active jobs. Ids the
   batch system no longer knows are left out of the result; the loop then reads the job's own
   exit-status file (written by the node) and, failing that, declares the job lost.
"""

from __future__ import annotations

import base64
import math
import os
import re
import shlex
import stat
import sys
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar, Sequence

from pipekit.errors import JobError, UsageError
from pipekit.humanize import parse_duration
from pipekit.job.script import NodeLines

__all__ = [
    "PENDING",
    "RUNNING",
    "FINISHED",
    "FAILED",
    "UNKNOWN",
    "ACTIVE_STATES",
    "OOM",
    "WALLTIME",
    "PREEMPTED",
    "EVICTED",
    "NODE_FAILURE",
    "EXIT_CODE",
    "CANCELLED",
    "LOST",
    "FAILURE_REASONS",
    "JobState",
    "JobAttempt",
    "SubmissionPlan",
    "JobConfig",
    "JobFile",
    "BaseJobManager",
    "BaseJobFileFactory",
    "JobInputFile",
    "JobArguments",
    "config_seconds",
]


def config_seconds(value: Any, what: str, unit: float = 1.0) -> int:
    """
    A duration from a job config (a number of seconds, or "2h", "01:30:00", ...) in whole
    *unit*s of seconds, rounded up and at least 1; a :class:`UsageError` naming *what* otherwise.
    """
    try:
        seconds = float(value) if isinstance(value, (int, float)) else parse_duration(str(value))
    except ValueError:
        raise UsageError(f"cannot read the {what} {value!r}; use e.g. 3600, '2h' or '01:30:00'") from None
    return max(1, math.ceil(seconds / unit))


#: the job is queued (also: held, requeued, being configured)
PENDING = "pending"
#: the job runs (also: completing, suspended)
RUNNING = "running"
#: the job ended successfully
FINISHED = "finished"
#: the job ended unsuccessfully (failed, cancelled, timed out, out of memory, lost ...)
FAILED = "failed"
#: the batch system gave no usable answer for the job (yet)
UNKNOWN = "unknown"

ACTIVE_STATES = (PENDING, RUNNING, UNKNOWN)

# Why a job failed (JobState.reason, kept in the ledger), in one vocabulary for every batch
# system: each backend maps its own states and codes onto these (Slurm OUT_OF_MEMORY -> oom,
# TIMEOUT -> walltime, ...), so that retry policies and reports need not know the backend.
#: the job used more memory than it requested and was killed for it
OOM = "oom"
#: the job ran longer than its time limit
WALLTIME = "walltime"
#: the batch system stopped the job to make room for other work (it may come back)
PREEMPTED = "preempted"
#: the job was pushed off its machine (HTCondor eviction, a draining node)
EVICTED = "evicted"
#: the node or the batch system's machinery failed, not the job
NODE_FAILURE = "node_failure"
#: the job ran and ended with a non-zero exit code (the default for a failed job)
EXIT_CODE = "exit_code"
#: a user or an administrator cancelled the job
CANCELLED = "cancelled"
#: the job left the batch system without an exit-status file
LOST = "lost"

FAILURE_REASONS = (OOM, WALLTIME, PREEMPTED, EVICTED, NODE_FAILURE, EXIT_CODE, CANCELLED, LOST)


@dataclass
class JobState:
    """The status of one job as a batch system (or the job's exit-status file) reports it."""

    job_id: str
    status: str
    code: int | None = None
    error: str | None = None
    #: where the answer came from: "squeue", "sacct", "scontrol", "status file", ...
    source: str = ""
    #: why a failed job failed: one of :data:`FAILURE_REASONS` (None: not known; the loop then
    #: records :data:`EXIT_CODE`)
    reason: str | None = None


@dataclass
class JobAttempt:
    """
    What a ``<type>_job_config`` hook knows about one job of the submission it configures: the
    attempt being submitted (1 for the first) and why each earlier attempt failed.
    """

    job_num: int
    attempt: int = 1
    #: failure reasons of the earlier attempts, oldest first (:data:`FAILURE_REASONS`)
    reasons: list[str] = field(default_factory=list)

    @property
    def last_reason(self) -> str | None:
        """Why the previous attempt failed (None for a first attempt)."""
        return self.reasons[-1] if self.reasons else None


@dataclass
class SubmissionPlan:
    """
    One submission: the jobs ``job_nums`` (array index ``i`` runs job ``job_nums[i]``) submitted
    together under the unique *tag*. All files of the submission live in *directory*.
    """

    tag: str
    directory: str
    job_nums: list[int]
    job_name: str
    cwd: str
    #: most jobs of this submission that may run at the same time (None: no limit)
    parallel: int | None = None
    #: the batch system's index of the first job (Slurm and HTCondor 0, Grid Engine and LSF 1):
    #: files are named by that index, so that the batch system's own placeholder for it
    #: (``$TASK_ID``, ``%I``) names the same files as :meth:`spec_file` of a plan position
    first_index: int = 0
    #: attempt and earlier failure reasons of each job, ``{job_num: JobAttempt}`` (set by the loop)
    attempts: dict[int, JobAttempt] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.job_nums)

    def start_dir(self, config: Any) -> str:
        """
        Where the batch system starts the jobs (``--chdir``, ``-wd``, ``-cwd``): the submitting
        process's working directory, or, when they run in a node-local scratch directory
        (``config.scratch_dir``), the submission directory, so that they depend on the
        submitting directory not even to start (:mod:`pipekit.job.scratch`).
        """
        return self.directory if getattr(config, "scratch_dir", None) else self.cwd

    def _name(self, index: int | str) -> int | str:
        return self.first_index + index if isinstance(index, int) else index

    def spec_file(self, index: int | str) -> str:
        """The job spec of plan position *index* (0 = ``job_nums[0]``; a string: a batch-system
        placeholder for the array index, used as it is)."""
        return os.path.join(self.directory, f"spec_{self._name(index)}.json")

    def status_file(self, index: int | str) -> str:
        """The exit-status file the node writes for plan position *index*."""
        return os.path.join(self.directory, f"status_{self._name(index)}.json")

    def log_file(self, index: int | str) -> str:
        """The combined stdout/stderr log of plan position *index*."""
        return os.path.join(self.directory, f"log_{self._name(index)}.txt")


@dataclass
class JobConfig:
    """
    Settings of one submission that a ``<type>_job_config(config, job_num, branches)`` hook may
    change. Backends extend it with their resource fields (partition, memory, ...).
    """

    #: the interpreter that runs ``python -m pipekit.job`` on the node (after the bootstrap file)
    python: str = field(default_factory=lambda: sys.executable)
    #: a bash file sourced before the node command (a path or a :class:`JobInputFile`)
    bootstrap_file: Any = None
    #: a bash file sourced after the node command, with its exit code as ``$1`` (a path or a
    #: :class:`JobInputFile`); its failure fails the job with exit code 4
    stageout_file: Any = None
    #: environment variables exported in the batch script
    env: dict[str, str] = field(default_factory=dict)
    #: values for ``{{name}}`` placeholders in input files with ``render=True``
    render_variables: dict[str, str] = field(default_factory=dict)
    #: extra lines of the batch script header: ``(key, value)`` tuples or literal strings
    custom_content: list[Any] = field(default_factory=list)
    #: extra arguments for the submit command (e.g. ``["--qos=short"]``)
    extra_args: list[str] = field(default_factory=list)
    #: run each job in a fresh directory below this node-side path (a shell word evaluated on
    #: the node, e.g. ``"$TMPDIR"``), removed when the job ends; None: in the submitting
    #: process's working directory (see :mod:`pipekit.job.scratch`)
    scratch_dir: str | None = None
    #: keep the scratch directory after the job ended (for debugging)
    keep_scratch: bool = False
    #: bundles each job unpacks (once per node) before it imports the task: bundle tasks or
    #: :class:`pipekit.bundle.BundleRef` (default: the bundle tasks among the workflow's
    #: requirements)
    bundles: list[Any] = field(default_factory=list)
    #: where nodes keep unpacked bundles (a shell word evaluated on the node); None: the
    #: node's ``$PIPEKIT_BUNDLE_CACHE``, else ``<tmp>/pipekit-bundles-<uid>``
    bundle_cache: str | None = None
    #: the jobs of this submission, ``{job_num: JobAttempt}``: attempt number and why earlier
    #: attempts failed (set by pipekit before the job-config hook runs)
    jobs: dict[int, JobAttempt] = field(default_factory=dict)
    #: False: the retry policy leaves memory and walltime as the job-config hook set them
    adapt_resources: bool = True

    #: names of the backend's memory and time-limit fields (the retry policy scales them)
    memory_field: ClassVar[str | None] = None
    walltime_field: ClassVar[str | None] = None

    @property
    def attempt(self) -> int:
        """The highest attempt number among the jobs of the submission (1: first submission)."""
        return max((j.attempt for j in self.jobs.values()), default=1)

    @property
    def last_reason(self) -> str | None:
        """Why the previous attempt of the submission's jobs failed (None: first attempt)."""
        return next((j.last_reason for j in self.jobs.values() if j.last_reason), None)

    def format_memory(self, megabytes: int) -> Any:
        """A memory request of *megabytes* in the backend's notation."""
        return f"{int(megabytes)}M"

    def resources(self) -> dict[str, Any]:
        """The memory and time-limit requests of the submission (kept per attempt in the ledger)."""
        out = {}
        for name in (self.memory_field, self.walltime_field):
            value = getattr(self, name, None) if name else None
            if value not in (None, ""):
                out[name] = value
        return out


@dataclass
class JobFile:
    """
    A file a submission writes for the batch system: the batch script it submits (always the
    first of :meth:`BaseJobFileFactory.job_files`) or another file the jobs run.
    """

    #: what it is, in words ("batch script", "submit description", "job wrapper ...")
    label: str
    path: str
    text: str
    executable: bool = True


class BaseJobManager(ABC):
    """
    Talks to one batch system. Implementations must keep the cost of :meth:`query` independent
    of the number of jobs in commands (one bulk call per cycle, plus at most one per submission
    as a fallback), and must never submit a job twice for one :meth:`submit` call.
    """

    PENDING = PENDING
    RUNNING = RUNNING
    FINISHED = FINISHED
    FAILED = FAILED
    UNKNOWN = UNKNOWN
    RETRY = "retry"  # law's name for "failed, will be resubmitted"; the loop shows it as such

    #: name of the batch system in messages ("Slurm", "HTCondor")
    batch_system = "batch system"
    #: the batch system's index of the first job of a submission (``SubmissionPlan.first_index``)
    first_array_index = 0

    @abstractmethod
    def submit_command(self, plan: SubmissionPlan, script: str, config: JobConfig) -> list[str]:
        """The exact command :meth:`submit` runs (also printed by ``--dry-run``)."""

    @abstractmethod
    def submit(self, plan: SubmissionPlan, script: str, config: JobConfig) -> list[str]:
        """
        Submit every job of *plan* in one interaction; return the job ids in array order.
        Raise :class:`pipekit.errors.JobError` when the batch system refused the submission.
        """

    @abstractmethod
    def query(self, job_ids: Sequence[str]) -> dict[str, JobState]:
        """
        The status of *job_ids* in one bulk query. Ids the batch system does not know (any
        more) are omitted. Raise :class:`JobError` when the batch system cannot be asked now
        (the loop retries next cycle, up to ``--poll-fails`` times in a row).
        """

    @abstractmethod
    def cancel(self, job_ids: Sequence[str]) -> None:
        """Cancel *job_ids* (ids that already ended are ignored)."""

    def cleanup(self, job_ids: Sequence[str]) -> None:
        """Remove what the batch system keeps of ended jobs (nothing, for most systems)."""
        return None

    @abstractmethod
    def find_submission(self, plan: SubmissionPlan) -> list[str] | None:
        """
        Job ids of the jobs submitted as *plan* (found by ``plan.job_name``), in array order as
        far as known, or None when the batch system knows no such jobs. Used after a crash
        between submitting and recording the ids; raise :class:`JobError` when it cannot tell.
        """

    def max_jobs_per_submission(self) -> int | None:
        """Most jobs one submission may hold (None: no limit)."""
        return None

    def reason_from_log(self, text: str) -> str | None:
        """
        The failure reason (:data:`FAILURE_REASONS`) that the batch system's own messages in the
        end of a failed job's log *text* give ("... DUE TO TIME LIMIT"), or None. Asked when
        the status query gave no reason beyond a non-zero exit code.
        """
        return None


class BaseJobFileFactory(NodeLines, ABC):
    """
    Writes the batch script of a submission (see the module docstring for its duties); the
    lines every script ends with come from :class:`pipekit.job.script.NodeLines`.
    """

    #: file name of the batch script inside the submission directory
    script_name = "job.sh"
    #: what the file :meth:`render` writes is, in words (``--dry-run`` labels it so)
    script_label = "batch script"
    #: exit code of the batch script when sourcing the bootstrap file failed
    bootstrap_exit_code = 3
    #: exit code of the batch script when sourcing the stage-out file failed
    stageout_exit_code = 4

    def new_config(self) -> JobConfig:
        """A fresh config with this backend's fields (the input of the job-config hook)."""
        return JobConfig()

    #: the field of this backend's config holding the job time limit (see :meth:`job_walltime`)
    walltime_field = "walltime"

    def job_walltime(self, config: JobConfig) -> float | None:
        """
        Seconds a job of *config* may run (None: not set), read from :attr:`walltime_field`.
        The credential check before a submission needs it: a proxy must outlive the jobs.
        """
        value = getattr(config, self.walltime_field, None)
        if value in (None, ""):
            return None
        return float(config_seconds(value, self.walltime_field.replace("_", " ")))

    @abstractmethod
    def render(self, plan: SubmissionPlan, config: JobConfig) -> str:
        """The text of the batch script."""

    def job_files(self, plan: SubmissionPlan, config: JobConfig) -> list[JobFile]:
        """
        Every file of *plan* the batch system reads or runs, the submitted batch script first
        (what :meth:`create` writes and ``--dry-run`` prints). *config* has its input files
        resolved (:meth:`resolve_inputs`). Backends with more files extend this.
        """
        path = os.path.join(plan.directory, self.script_name)
        return [JobFile(self.script_label, path, self.render(plan, config))]

    def create(self, plan: SubmissionPlan, config: JobConfig) -> str:
        """Write the job files (and copies of input files); returns the batch script's path."""
        os.makedirs(plan.directory, exist_ok=True)
        self.resolve_inputs(plan, config)
        files = self.job_files(plan, config)
        for f in files:
            write_file(f.path, f.text, executable=f.executable)
        return files[0].path

    def input_files(self, config: JobConfig) -> list[Any]:
        """
        The input files *config* names (paths or :class:`JobInputFile`; None when unset): the
        bootstrap and stage-out file, then the local archives of ``config.bundles``
        (:meth:`bundle_files`). Backends with more input files extend this; backends whose jobs
        get their files transferred (HTCondor, ARC) send all of them.
        """
        return [config.bootstrap_file, config.stageout_file, *self.bundle_files(config)]

    @staticmethod
    def bundle_files(config: JobConfig) -> list[JobInputFile]:
        """
        The local archives of the bundles in *config* (``copy=False``: used where they are, never
        copied into the submission directory). Bundles on remote storage are not input files:
        the node fetches them itself.
        """
        out = []
        for ref in config.bundles:
            path = getattr(ref, "local_archive", None)
            if path:
                out.append(JobInputFile(path, copy=False))
        return out

    def scratch_inputs(self, config: JobConfig) -> list[str]:
        """The resolved input files a job copies into its scratch directory (bundles excluded)."""
        bundles = {f.path for f in self.bundle_files(config)}
        return [str(f) for f in self.input_files(config)
                if f not in (None, "") and str(f) not in bundles]

    def resolve_inputs(self, plan: SubmissionPlan, config: JobConfig, write: bool = True) -> None:
        """
        Replace the input files of *config* (bootstrap and stage-out file) by the paths jobs use,
        copying them into the submission directory (only with *write*; see
        :meth:`provide_input`), and check that the local bundle archives exist. Backends with
        more input files extend this.
        """
        check_copy_names(self.input_files(config))
        config.bootstrap_file = self.provide_input(plan, config, config.bootstrap_file, write,
                                                   what="bootstrap_file")
        config.stageout_file = self.provide_input(plan, config, config.stageout_file, write,
                                                  what="stageout_file")
        for f in self.bundle_files(config):
            if not os.path.isfile(f.path):
                raise UsageError(f"the bundle archive '{f.path}' does not exist; its bundle task "
                                 "must run before the jobs are submitted (require it in "
                                 "workflow_requires(), and do not use --pilot for the first run)")

    def provide_input(self, plan: SubmissionPlan, config: JobConfig, input_file: Any,
                      write: bool = True, what: str = "bootstrap_file") -> Any:
        """
        Copy *input_file* into the submission directory when it asks for it (``copy=True``),
        rendering ``{{name}}`` placeholders when ``render=True``; returns the path jobs use
        (without *write*, only the path). *what* names the setting it came from, for errors.
        """
        if input_file is None or input_file == "":
            return None
        f = input_file if isinstance(input_file, JobInputFile) else JobInputFile(input_file)
        src = os.path.abspath(os.path.expanduser(str(f.path)))
        dst = os.path.join(plan.directory, os.path.basename(src))
        if src == dst:
            return dst  # resolved before (a dry run after create, say): already the job's copy
        if not os.path.isfile(src):
            raise UsageError(f"the job's {what.replace('_', ' ')} '{src}' does not exist; fix the "
                             f"workflow's {what} hook (e.g. slurm_{what}()) or {what} in law.cfg "
                             "([job] or the batch system's section)")
        if not f.copy:
            return src
        if not write:
            return dst
        with open(src, encoding="utf-8") as fin:
            text = fin.read()
        if f.render:
            text = render_variables(text, config.render_variables)
        with open(dst, "w", encoding="utf-8") as fout:
            fout.write(text)
        os.chmod(dst, os.stat(src).st_mode)
        return dst


def check_copy_names(files: Sequence[Any]) -> None:
    """Refuse input files that would be copied to the same name in the submission directory."""
    seen: dict[str, str] = {}
    for f in files:
        if f in (None, "") or (isinstance(f, JobInputFile) and not f.copy):
            continue
        src = os.path.abspath(os.path.expanduser(str(f)))
        name = os.path.basename(src)
        if seen.setdefault(name, src) != src:
            raise UsageError(f"the job input files {seen[name]} and {src} share the name "
                             f"'{name}' and would overwrite each other's copy in the submission "
                             "directory; rename one of them")


def write_file(path: str, text: str, executable: bool = False) -> None:
    """Write *text* to *path* through a temporary sibling (*executable*: by owner and group)."""
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    if executable:
        os.chmod(tmp, os.stat(tmp).st_mode | stat.S_IXUSR | stat.S_IXGRP)
    os.replace(tmp, path)


def render_variables(text: str, variables: dict[str, Any]) -> str:
    """Replace ``{{name}}`` in *text* by ``variables[name]`` (unknown names stay)."""
    def repl(m: re.Match) -> str:
        return str(variables.get(m.group(1), m.group(0)))

    return re.sub(r"\{\{\s*(\w+)\s*\}\}", repl, text)


class JobInputFile:
    """
    A file a job needs (the bootstrap file, most often). With *copy* (default) it is copied into
    the submission directory, so editing the original does not change jobs already queued; with
    *render*, ``{{name}}`` placeholders are replaced by the job config's ``render_variables``.
    Remote jobs on a shared file system read it from there.
    """

    def __init__(self, path: Any, copy: bool | None = None, render: bool | None = None,
                 **kwargs: Any):
        if isinstance(path, JobInputFile):
            copy = path.copy if copy is None else copy
            render = path.render if render is None else render
            path = path.path
        self.path = str(getattr(path, "abspath", None) or getattr(path, "path", None) or path)
        self.copy = True if copy is None else bool(copy)
        # law's render_local / render_job both mean: resolve placeholders before the job runs
        render = render if render is not None else kwargs.get("render_local", kwargs.get("render_job"))
        self.render = bool(render)

    def __str__(self) -> str:
        return self.path

    def __repr__(self) -> str:
        return f"JobInputFile({self.path!r}, copy={self.copy}, render={self.render})"

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, JobInputFile) and (self.path, self.copy, self.render) == (
            other.path, other.copy, other.render)


class JobArguments:
    """
    What one job runs, for users who write their own job scripts: the task class, its
    parameters as command-line arguments, the branches and the number of workers.
    :meth:`get_args` gives the arguments of ``python -m pipekit.job`` that run them without a
    spec file; :meth:`join` the same as one shell-quoted string.
    """

    def __init__(self, task_cls: type, task_params: Sequence[str], branches: Sequence[int],
                 workers: int = 1, **kwargs: Any):
        self.task_cls = task_cls
        self.task_params = [str(p) for p in task_params]
        self.branches = [int(b) for b in branches]
        self.workers = max(1, int(workers))

    @staticmethod
    def encode_string(s: str) -> str:
        """*s* base64 encoded (law's encoding for values passed through job scripts)."""
        return base64.b64encode((s or "-").encode()).decode()

    def get_args(self) -> list[str]:
        if not self.branches:
            raise JobError("JobArguments needs at least one branch")
        return ["--task", f"{self.task_cls.__module__}.{self.task_cls.__name__}",
                "--branches", ",".join(map(str, self.branches)),
                "--workers", str(self.workers), "--", *self.task_params]

    def join(self) -> str:
        return " ".join(shlex.quote(a) for a in self.get_args())
