"""
ARC (NorduGrid Advanced Resource Connector): :class:`ARCJobManager` (arcsub / arcstat / arcget
/ arckill / arcclean), :class:`ARCJobFileFactory` (one xRSL per job and the job script, in
:mod:`pipekit.batch.arc_files`), :class:`ARCJobConfig`, and the workflow type
:class:`ARCWorkflow` (``--workflow arc``) with its ``arc_*`` hooks.

- **One** ``arcsub`` per submission and computing element, with every job's xRSL file as
  argument (``arcsub`` submits them in turn and prints one job id each). Several CEs
  (``[arc] ce = a, b`` or ``--arc-ce a,b``) get the jobs of a submission in turn (round-robin).
- **One** ``arcstat --json`` per poll cycle for all active jobs (ids from a file, so the command
  line does not grow with the job count), and one ``arcget`` per cycle for the jobs that ended
  in it: their exit-status files and logs move into the submission directory, where the loop
  reads them. A job whose outputs cannot be fetched yet counts as running for a few cycles.
- ``--cancel-jobs``: ``arckill``; ``--cleanup-jobs``: ``arcclean`` (what ARC keeps of ended jobs
  that were never retrieved).
- The job list (``arc_jobs.dat``) and downloads live in the workflow's job directory. Job names
  are ``pk_<Family>_<tag>_<index>``: after a crash between ``arcsub`` and the ledger write, the
  jobs are found again by name (in the job list, else after ``arcsync`` with the CE).
- Credentials: a workflow of this type requires an X.509 proxy by default (``[arc]
  credentials``) that outlives the job walltime plus ``[job] credential_margin``; ``arcsub``
  delegates exactly that proxy to the jobs (ARC 6 clients do not submit with tokens).

ARC's job states map onto pipekit's in :mod:`pipekit.batch.arc_status`, together with the
failure reasons (walltime, memory, cancelled, exit code, node failure, lost).
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from typing import Any, Sequence

import luigi

from pipekit.batch.arc_files import ARCJobConfig, ARCJobFileFactory, split_list
from pipekit.batch.arc_status import (
    ARCJobInfo,
    failure_reason,
    job_name,
    parse_arcstat_json,
    parse_arcsub_output,
    parse_job_name,
)
from pipekit.config import Config
from pipekit.errors import CommandError, JobError, UsageError
from pipekit.grid.credentials import X509, Credential
from pipekit.job.base import (
    FAILED,
    RUNNING,
    BaseJobManager,
    JobConfig,
    JobState,
    SubmissionPlan,
)
from pipekit.parameter import NO_STR
from pipekit.shell import run_command
from pipekit.workflow.remote import BaseRemoteWorkflow, BaseRemoteWorkflowProxy

__all__ = ["ARCJobConfig", "ARCJobFileFactory", "ARCJobManager", "ARCWorkflow",
           "ARCWorkflowProxy", "get_arc_version"]

_arc_version: tuple[int, ...] | None = None


def get_arc_version() -> tuple[int, ...] | None:
    """The installed ARC client version as a tuple, e.g. ``(6, 17, 0)``; None without ARC."""
    global _arc_version
    if _arc_version is None:
        try:
            out = run_command(["arcsub", "--version"], timeout=10).stdout
        except CommandError:
            return None
        m = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", out)
        _arc_version = tuple(int(x) for x in m.groups() if x is not None) if m else None
    return _arc_version


class ARCJobManager(BaseJobManager):
    """
    Submits, queries, retrieves and cancels ARC jobs with the ARC client tools. *job_dir* holds
    the ARC job list and the downloads (the workflow's job directory); *computing_elements*
    and *interface* default to ``[arc] ce`` and ``[arc] interface``.
    """

    batch_system = "ARC"
    #: cycles a job's outputs may fail to download before it is judged without them
    fetch_attempts = 3

    def __init__(self, job_dir: str | None = None, computing_elements: Any = None,
                 interface: str | None = None, timeout: float | None = None, **kwargs: Any):
        cfg = Config.instance()
        self.job_dir = os.path.abspath(job_dir or os.getcwd())
        self.computing_elements = (split_list(computing_elements)
                                   or split_list(cfg.get_expanded("arc", "ce", None)))
        self.interface = interface or cfg.get_expanded("arc", "interface", None) or "arcrest"
        self.timeout = timeout or cfg.get_expanded_float("arc", "command_timeout", 120.0)
        self._max_jobs = cfg.get_expanded_int("arc", "max_jobs_per_submission", 1000)
        self._next_ce = 0
        self._fetch_fails: dict[str, int] = {}
        #: job id -> (submission directory, index), learnt at submission and from job names
        self._where: dict[str, tuple[str, int]] = {}

    @property
    def job_list(self) -> str:
        """ARC's own job list of this workflow (``arcsub -j``): what arcstat and arcget read."""
        return os.path.join(self.job_dir, "arc_jobs.dat")

    def _run(self, cmd: list[str], timeout: float | None = None, env: dict | None = None) -> Any:
        """Run an ARC client command; a timeout or a missing client is a :class:`JobError`
        (for a status query: a failed poll, retried; for arcsub: the loop asks the CE by name)."""
        try:
            return run_command(cmd, timeout=timeout or self.timeout, check=False, env=env)
        except CommandError as e:
            if e.returncode is None and "not found on PATH" in str(e):
                raise JobError(f"the ARC client command {cmd[0]} is not installed; install the "
                               "package nordugrid-arc-client") from None
            raise JobError(str(e)) from None

    def _id_file(self, name: str, ids: Sequence[str]) -> str:
        """*ids*, one per line, in a file of the job directory (``arc* -i FILE``)."""
        os.makedirs(self.job_dir, exist_ok=True)
        path = os.path.join(self.job_dir, f"arc_{name}_ids.txt")
        with open(path, "w", encoding="utf-8") as f:
            f.write("".join(f"{i}\n" for i in ids))
        return path

    def max_jobs_per_submission(self) -> int | None:
        """``[arc] max_jobs_per_submission`` (default 1000 xRSL files per arcsub call)."""
        return max(1, self._max_jobs or 1000)

    # -- submitting -----------------------------------------------------------------------------

    def groups(self, plan: SubmissionPlan, config: JobConfig) -> list[tuple[str, list[int]]]:
        """The computing elements of *plan* with the array indices each one gets (round-robin)."""
        ces = split_list(getattr(config, "computing_elements", None)) or self.computing_elements
        if not ces:
            raise UsageError("no ARC computing element to submit to: set ce in the [arc] section "
                             "of law.cfg (e.g. ce = https://ce.example.org/arex), give --arc-ce, "
                             "or set computing_elements in arc_job_config()")
        out: dict[str, list[int]] = {}
        for i in range(len(plan)):
            out.setdefault(ces[(self._next_ce + i) % len(ces)], []).append(i)
        return list(out.items())

    def _arcsub(self, plan: SubmissionPlan, config: JobConfig, ce: str, indices: list[int]) -> list[str]:
        files = [os.path.join(plan.directory, f"job_{i}.xrsl") for i in indices]
        interface = getattr(config, "interface", None) or self.interface
        return ["arcsub", "-j", self.job_list, "-C", ce, "-T", interface,
                *[str(a) for a in config.extra_args], *files]

    def submit_command(self, plan: SubmissionPlan, script: str, config: JobConfig) -> list[str]:
        """The arcsub call of the first CE (one such call per CE the submission uses)."""
        ce, indices = self.groups(plan, config)[0]
        return self._arcsub(plan, config, ce, indices)

    def submit(self, plan: SubmissionPlan, script: str, config: JobConfig) -> list[str]:
        groups = self.groups(plan, config)
        self._next_ce += len(plan)
        proxy = getattr(config, "proxy_file", None)
        env = {"X509_USER_PROXY": proxy} if proxy else None
        ids: list[str | None] = [None] * len(plan)
        errors = []
        for ce, indices in groups:
            cmd = self._arcsub(plan, config, ce, indices)
            # arcsub uploads each job's inputs in turn: allow time per job
            proc = self._run(cmd, timeout=self.timeout + 5.0 * len(indices), env=env)
            got = parse_arcsub_output(proc.stdout)
            if len(got) == len(indices):
                for i, job_id in zip(indices, got):
                    ids[i] = job_id
            elif got:  # some descriptions failed: which ids are which, the job names say
                by_name = self._ids_by_name()
                for i in indices:
                    ids[i] = by_name.get(job_name(plan.job_name, i))
            if len(got) < len(indices):
                errors.append(f"{ce}: {CommandError(cmd[:6] + ['...'], proc.returncode, proc.stderr or proc.stdout)}")
        if not any(ids):
            raise JobError(f"ARC refused submission {plan.tag} of {len(plan)} job(s): "
                           + "; ".join(errors))
        for i, job_id in enumerate(ids):
            if job_id:
                self._where[job_id] = (plan.directory, i)
        # jobs without an id failed to submit: the loop finds no status file and resubmits them
        return ids  # type: ignore[return-value]

    def _ids_by_name(self, sync_with: Sequence[str] = ()) -> dict[str, str]:
        """``{job name: job id}`` of the job list (after ``arcsync`` with *sync_with* CEs)."""
        for ce in sync_with:
            self._run(["arcsync", "-j", self.job_list, "-C", ce, "-f"])
        if not os.path.exists(self.job_list):
            return {}
        proc = self._run(["arcstat", "-j", self.job_list, "-a", "-J"])
        try:
            jobs = parse_arcstat_json(proc.stdout)
        except ValueError:
            raise JobError(f"cannot read the output of arcstat: {proc.stdout[-300:]!r}") from None
        return {info.name: job_id for job_id, info in jobs.items() if info.name}

    def find_submission(self, plan: SubmissionPlan) -> list[str] | None:
        names = [job_name(plan.job_name, i) for i in range(len(plan))]
        by_name = self._ids_by_name()
        if not any(n in by_name for n in names):
            # killed inside arcsub: the CE may have jobs the job list never got
            by_name = self._ids_by_name(sync_with=self.computing_elements)
        ids = [by_name.get(n) for n in names]
        if not any(ids):
            return None
        for i, job_id in enumerate(ids):
            if job_id:
                self._where[job_id] = (plan.directory, i)
        return ids  # type: ignore[return-value]

    # -- querying -------------------------------------------------------------------------------

    def query(self, job_ids: Sequence[str]) -> dict[str, JobState]:
        wanted = [i for i in job_ids if i]
        if not wanted:
            return {}
        cmd = ["arcstat", "-j", self.job_list, "-i", self._id_file("query", wanted), "-J", "-u"]
        proc = self._run(cmd)
        asked = set(wanted)
        try:
            jobs = {i: info for i, info in parse_arcstat_json(proc.stdout).items() if i in asked}
        except ValueError:
            raise JobError(f"cannot read the output of arcstat: {proc.stdout[-300:]!r}") from None
        self._check_reachable(jobs, proc.stderr, cmd)
        ended = [info for info in jobs.values() if info.ended]
        fetched = self.fetch_outputs(ended)
        out: dict[str, JobState] = {}
        for job_id, info in jobs.items():
            if info.state == "Undefined":
                continue  # the CE does not know it (any more): the loop asks its status file
            out[job_id] = self._state(info, fetched.get(job_id, True))
        return out

    def _check_reachable(self, jobs: dict[str, ARCJobInfo], stderr: str, cmd: list[str]) -> None:
        """A CE that does not answer is a failed query (retried), never "the jobs are gone"."""
        # with -u, arcstat lists a job it got no answer for as "Undefined"
        unknown = [i for i, info in jobs.items() if info.state == "Undefined"]
        if not unknown:
            return
        # jobs the CE answered "404 Job not found" for are really gone; anything else: no answer
        silent = [i for i in unknown if not re.search(
            rf"{re.escape(i.rsplit('/', 1)[-1])}.*(404|not found)", stderr, re.I)]
        if silent:
            raise JobError(f"ARC gave no status for {len(silent)} job(s) (is the CE reachable?): "
                           f"{CommandError(cmd, None, stderr, reason='no status')}")

    def _state(self, info: ARCJobInfo, fetched: Any) -> JobState:
        if not info.ended:
            return JobState(info.job_id, info.status, None, None, "arcstat")
        if fetched is False:
            return JobState(info.job_id, RUNNING, None, None, "arcstat (outputs pending)")
        status = info.status
        error = "; ".join(info.errors) or None
        if isinstance(fetched, str):
            error = f"{error + '; ' if error else ''}{fetched}"
        reason = failure_reason(info.state, error or "", info.exit_code) if status == FAILED else None
        return JobState(info.job_id, status, info.exit_code, error if status == FAILED else None,
                        "arcstat", reason=reason)

    def fetch_outputs(self, ended: Sequence[ARCJobInfo]) -> dict[str, Any]:
        """
        ``arcget`` (one call) for the jobs that ended, then their files moved into their
        submission directories. Per job: True (fetched, or nothing to fetch), False (try again
        next cycle) or an error text (given up after :attr:`fetch_attempts` cycles).
        """
        todo = [j for j in ended if j.state.lower() != "deleted" and self._destination(j)]
        if not todo:
            return {}
        downloads = os.path.join(self.job_dir, "arc_downloads")
        os.makedirs(downloads, exist_ok=True)
        cmd = ["arcget", "-j", self.job_list, "-D", downloads, "-J", "-f",
               "-i", self._id_file("get", [j.job_id for j in todo])]
        proc = self._run(cmd, timeout=self.timeout + 2.0 * len(todo))
        result: dict[str, Any] = {}
        for job in todo:
            where = self._destination(job)
            got = os.path.join(downloads, job.name)
            if where and os.path.isdir(got):
                _move_outputs(got, *where)
                result[job.job_id] = True
                self._fetch_fails.pop(job.job_id, None)
                continue
            fails = self._fetch_fails[job.job_id] = self._fetch_fails.get(job.job_id, 0) + 1
            if fails < self.fetch_attempts:
                result[job.job_id] = False
            else:
                tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
                result[job.job_id] = f"arcget could not retrieve its outputs: {tail[0]}"
        return result

    def _destination(self, job: ARCJobInfo) -> tuple[str, int] | None:
        """(submission directory, index) of *job*: from the submission, else from its name."""
        if job.job_id in self._where:
            return self._where[job.job_id]
        parsed = parse_job_name(job.name)
        if parsed is None:
            return None
        tag, index = parsed
        return os.path.join(self.job_dir, tag), index

    # -- cancelling and cleaning ----------------------------------------------------------------

    def cancel(self, job_ids: Sequence[str]) -> None:
        ids = [i for i in job_ids if i]
        if not ids:
            return
        cmd = ["arckill", "-j", self.job_list, "-i", self._id_file("kill", ids)]
        proc = self._run(cmd)
        if proc.returncode != 0 and not re.search(r"successfully killed: [1-9]", proc.stdout):
            if "not found" not in (proc.stderr + proc.stdout).lower():
                raise JobError(f"arckill failed: {CommandError(cmd, proc.returncode, proc.stderr)}")

    def cleanup(self, job_ids: Sequence[str]) -> None:
        """``arcclean`` the ended jobs ARC still keeps (those never retrieved with arcget)."""
        ids = [i for i in job_ids if i]
        if ids and os.path.exists(self.job_list):
            self._run(["arcclean", "-j", self.job_list, "-f", "-i", self._id_file("clean", ids)])
        shutil.rmtree(os.path.join(self.job_dir, "arc_downloads"), ignore_errors=True)


def _move_outputs(src: str, directory: str, index: int) -> None:
    """Files arcget fetched for job *index* into its submission *directory*; *src* is removed."""
    os.makedirs(directory, exist_ok=True)
    for name in os.listdir(src):
        path = os.path.join(src, name)
        if re.match(rf"^(status_{index}\.json|log_{index}\.txt)$", name):
            target = os.path.join(directory, name)
        else:  # extra output files: one directory per job, so equal names do not collide
            target = os.path.join(directory, f"outputs_{index}", name)
            os.makedirs(os.path.dirname(target), exist_ok=True)
        if os.path.isdir(target) and not os.path.islink(target):
            shutil.rmtree(target)
        os.replace(path, target)
    shutil.rmtree(src, ignore_errors=True)


class ARCWorkflowProxy(BaseRemoteWorkflowProxy):
    """``--workflow arc``: the branches run as jobs on ARC computing elements."""

    workflow_type = "arc"
    default_credentials = X509
    proxy_tool = "arcproxy"

    def task_defaults(self, config: JobConfig) -> None:
        """``--arc-ce`` beats ``[arc] ce``; the job's Python is ``python3`` unless configured."""
        ce = self.task.arc_ce
        if ce not in (None, "", NO_STR) and isinstance(config, ARCJobConfig):
            config.computing_elements = split_list(ce)
        cfg = Config.instance()
        if config.python == sys.executable and not cfg.get_expanded("job", "python_executable", None):
            config.python = "python3"  # the submitting interpreter's path rarely exists on a CE

    def deliver_credentials(self, plan: SubmissionPlan, config: JobConfig,
                            credentials: list[Credential], write: bool = True) -> None:
        """arcsub delegates the checked proxy to the jobs (A-REX sets X509_USER_PROXY there)."""
        proxies = [c for c in credentials if c.kind == X509]
        if credentials and not proxies:
            raise UsageError("ARC workflows submit with an X.509 proxy (ARC 6 clients have no "
                             "token submission); set credentials = x509 in [arc] of law.cfg")
        if proxies and isinstance(config, ARCJobConfig):
            config.proxy_file = proxies[0].path


class ARCWorkflow(BaseRemoteWorkflow):
    """
    Workflow mixin: ``--workflow arc`` submits the missing branches as ARC jobs. Hooks (all
    optional): :meth:`arc_output_directory`, :meth:`arc_bootstrap_file`,
    :meth:`arc_stageout_file`, :meth:`arc_job_config`, :meth:`arc_workflow_requires`,
    :meth:`arc_check_job_completeness`, :meth:`arc_poll_callback`, :meth:`arc_job_resources`;
    defaults come from the ``[arc]`` and ``[job]`` sections of law.cfg.
    """

    exclude_index = True
    workflow_proxy_cls = ARCWorkflowProxy

    arc_ce = luigi.Parameter(default=NO_STR, significant=False,
                             description="ARC computing element(s), comma-separated (jobs are "
                             "dealt to them in turn); default: [arc] ce in law.cfg")

    exclude_params_branch = {"arc_ce"}  # united with the bases' sets

    def arc_output_directory(self) -> Any:
        """Where the ledger, job files and fetched logs go (a local directory or directory
        target). Default: the directory of the first branch's first output."""
        return None

    def arc_bootstrap_file(self) -> Any:
        """A bash file each job sources before Python starts (path or JobInputFile; staged to
        the CE). Default: ``[arc] bootstrap_file``, else ``[job] bootstrap_file``, else none."""
        return None

    def arc_stageout_file(self) -> Any:
        """A bash file each job sources after its branches ran, with their exit code as ``$1``
        (path or JobInputFile); failing makes the job fail with exit code 4 and be resubmitted.
        Default: ``[arc] stageout_file``, else ``[job] stageout_file``, else none."""
        return None

    def arc_job_config(self, config: ARCJobConfig, job_num: int, branches: list[int]) -> ARCJobConfig:
        """Change the settings of a submission (computing_elements, interface, queue, walltime,
        memory, cpus, runtime_environments, input_files, output_files, custom_content (xRSL),
        extra_args (arcsub), env, python, bootstrap_file, stageout_file). Called once per
        submission: *job_num* is its first job, *branches* all branches it runs. Return the config."""
        return config

    def arc_workflow_requires(self) -> Any:
        """Requirements of the ARC workflow besides ``workflow_requires()`` (kept with --pilot)."""
        return {}

    def arc_check_job_completeness(self) -> bool:
        """Whether a finished job's branch outputs are checked (the node already checks them)."""
        return False

    def arc_poll_callback(self, poll_data: Any) -> Any:
        """Called every poll cycle with a :class:`pipekit.job.loop.PollData`; return False to stop polling."""
        return None

    def arc_job_resources(self, job_num: int, branches: list[int]) -> dict[str, int]:
        """luigi resources one job uses (summed over the jobs that may run at once)."""
        return {}

    def arc_job_manager_cls(self) -> type:
        return ARCJobManager

    def arc_create_job_manager(self, **kwargs: Any) -> ARCJobManager:
        kwargs.setdefault("job_dir", self.workflow_proxy.jobs_directory())
        if self.arc_ce not in (None, "", NO_STR):
            kwargs.setdefault("computing_elements", self.arc_ce)
        return self.arc_job_manager_cls()(**kwargs)

    def arc_job_file_factory_cls(self) -> type:
        return ARCJobFileFactory

    def arc_create_job_file_factory(self, **kwargs: Any) -> ARCJobFileFactory:
        return self.arc_job_file_factory_cls()(**kwargs)

    def process_resources(self) -> dict[str, int]:
        """luigi resources: for the workflow, those of the jobs that may run at the same time."""
        if self.is_branch() or type(self).arc_job_resources is ARCWorkflow.arc_job_resources:
            return super().process_resources()
        return self.summed_job_resources(self.arc_job_resources)
