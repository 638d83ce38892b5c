"""
HTCondor: :class:`HTCondorJobManager` (condor_submit / condor_q / condor_history / condor_rm),
:class:`HTCondorJobFileFactory` (the submit description and the job's bash wrapper),
:class:`HTCondorJobConfig`, and the workflow type :class:`HTCondorWorkflow`
(``--workflow htcondor``) with its ``htcondor_*`` hooks.

- One submit description and **one** ``condor_submit`` per submission: all jobs in one cluster
  through ``queue pk_index, pk_job, pk_branches from ( ... )``, ProcId ``i`` running array
  index ``i``; ``--parallel-jobs P`` becomes ``max_materialize = P`` (late materialization).
- One ``condor_q -json`` per poll cycle for all jobs (a constraint on their cluster ids). Jobs it
  does not list are asked from ``condor_q -factory`` (not created yet by a throttled cluster) and
  from ``condor_history`` once per cycle; what neither knows, the loop takes from the job's own
  exit-status file. A held job counts as failed with its hold reason and is removed, so that a
  later ``condor_release`` cannot run it next to its resubmission.
- Shared file system (default): jobs run in the submitting directory and read their spec files
  where they were written. File transfer (``[htcondor] shared_filesystem: False``): spec,
  bootstrap and stage-out files go with ``transfer_input_files`` and the exit-status file comes
  back with ``transfer_output_files``.
- Every job carries its submission's unique tag (``+PipekitTag``, and the batch name
  ``pk_<Family>_<tag>``), so a submission whose ids were never recorded is found again.

The submit description and the job's bash wrapper are written in
:mod:`pipekit.batch.htcondor_files`; the ClassAd reading (JobStatus codes, constraints, late
materialization, condor_rm arguments) is in :mod:`pipekit.batch.htcondor_status`.
"""

from __future__ import annotations

import re
import sys
from typing import Any, Sequence

import luigi

from pipekit.batch import htcondor_status as ads
from pipekit.batch.htcondor_files import HTCondorJobConfig, HTCondorJobFileFactory
from pipekit.config import Config
from pipekit.errors import CommandError, JobError
from pipekit.grid.credentials import X509, Credential
from pipekit.job.base import (
    PENDING,
    BaseJobManager,
    JobConfig,
    JobState,
    SubmissionPlan,
)
from pipekit.parameter import NO_STR
from pipekit.shell import run_command
from pipekit.workflow.remote import BaseRemoteWorkflow, BaseRemoteWorkflowProxy

__all__ = ["HTCondorJobConfig", "HTCondorJobFileFactory", "HTCondorJobManager",
           "HTCondorWorkflow", "HTCondorWorkflowProxy", "get_htcondor_version"]

_htcondor_version: tuple[int, ...] | None = None


def get_htcondor_version() -> tuple[int, ...] | None:
    """The installed HTCondor version as a tuple, e.g. ``(24, 0, 1)``; None without HTCondor."""
    global _htcondor_version
    if _htcondor_version is None:
        try:
            out = run_command(["condor_version"], timeout=10).stdout
        except CommandError:
            return None
        _htcondor_version = ads.parse_version(out)
    return _htcondor_version


class HTCondorJobManager(BaseJobManager):
    """
    Submits, queries and cancels HTCondor jobs with the HTCondor command-line tools; *pool* and
    *scheduler* (``-pool`` / ``-name``) address a remote schedd.
    """

    batch_system = "HTCondor"

    def __init__(self, pool: str | None = None, scheduler: str | None = None,
                 timeout: float | None = None, **kwargs: Any):
        cfg = Config.instance()
        self.pool = pool or cfg.get_expanded("htcondor", "pool", None) or None
        self.scheduler = scheduler or cfg.get_expanded("htcondor", "scheduler", None) or None
        self.timeout = timeout or cfg.get_expanded_float("htcondor", "command_timeout", 60.0)
        self._max_jobs: int | None = cfg.get_expanded_int("htcondor", "max_jobs_per_submission", None)
        #: clusters known to create no more jobs (no factory, or their factory is done)
        self._no_factory: set[int] = set()

    def _target(self) -> list[str]:
        out = ["-pool", self.pool] if self.pool else []
        return out + (["-name", self.scheduler] if self.scheduler else [])

    def _run(self, cmd: list[str], check: bool = True, cwd: str | None = None) -> Any:
        return run_command(cmd, timeout=self.timeout, check=check, cwd=cwd)

    # -- submitting -----------------------------------------------------------------------------

    def submit_command(self, plan: SubmissionPlan, script: str, config: JobConfig) -> list[str]:
        return ["condor_submit", *self._target(), *[str(a) for a in config.extra_args], script]

    def submit(self, plan: SubmissionPlan, script: str, config: JobConfig) -> list[str]:
        cmd = self.submit_command(plan, script, config)
        try:
            out = self._run(cmd, cwd=plan.cwd or None).stdout
        except CommandError as e:
            raise JobError(f"HTCondor refused submission {plan.tag} of {len(plan)} job(s): {e}") from None
        parsed = ads.parse_submit_output(out)
        if parsed is None:
            raise JobError(f"cannot read a cluster id from the output of condor_submit: {out.strip()!r}")
        count, cluster = parsed
        if count != len(plan):
            raise JobError(f"condor_submit queued {count} job(s) in cluster {cluster}, expected "
                           f"{len(plan)}; see {script}")
        if not _throttled(script):
            self._no_factory.add(cluster)  # all its jobs exist already: no condor_q -factory
        return [f"{cluster}.{i}" for i in range(count)]

    def max_jobs_per_submission(self) -> int | None:
        """The schedd's ``MAX_JOBS_PER_SUBMISSION`` (asked once; ``[htcondor]
        max_jobs_per_submission`` skips asking)."""
        if self._max_jobs is None:
            self._max_jobs = 20000  # HTCondor's default
            if not self.pool and not self.scheduler:  # the local configuration is the schedd's
                try:
                    out = self._run(["condor_config_val", "MAX_JOBS_PER_SUBMISSION"]).stdout.strip()
                    self._max_jobs = int(out) if out.isdigit() else self._max_jobs
                except CommandError:
                    pass
        return max(1, self._max_jobs)

    # -- querying -------------------------------------------------------------------------------

    def _ads(self, tool: list[str], args: list[str], attributes: Sequence[str]) -> list[dict]:
        cmd = [*tool, *self._target(), *args, "-json", "-attributes", ",".join(attributes)]
        try:
            out = self._run(cmd).stdout
        except CommandError as e:
            raise JobError(str(e)) from None
        return ads.parse_ads(out, tool[0])

    def query(self, job_ids: Sequence[str]) -> dict[str, JobState]:
        wanted = {i for i in job_ids if ads.parse_job_id(i)}
        if not wanted:
            return {}
        clusters = {ads.parse_job_id(i)[0] for i in wanted}  # type: ignore[index]
        result: dict[str, JobState] = {}
        held = []
        for ad in self._ads(["condor_q"], ["-constraint", ads.clusters_constraint(clusters)],
                            ads.QUERY_ATTRIBUTES):
            job_id = ads.ad_job_id(ad)
            if job_id in wanted:
                result[job_id] = ads.job_state(ad, "condor_q")
                if ads.is_held(ad):
                    held.append(job_id)
        missing = wanted - set(result)
        if missing:
            waiting = ads.unmaterialized(missing, self._factories(missing))
            result.update({i: JobState(i, PENDING, source="condor_q -factory") for i in waiting})
            result.update(self._history(missing - waiting))
        if held:
            self._remove(held, "pipekit: a held job counts as failed and is resubmitted")
        return result

    def _factories(self, job_ids: set[str]) -> dict[int, tuple[int, int | None]]:
        """Late-materialization progress of the clusters of *job_ids* that may still grow."""
        clusters = sorted({ads.parse_job_id(i)[0] for i in job_ids} - self._no_factory)  # type: ignore[index]
        if not clusters:
            return {}
        try:
            found = ads.factory_progress(self._ads(
                ["condor_q", "-factory"], [str(c) for c in clusters], ads.FACTORY_ATTRIBUTES))
        except JobError:
            # condor_q just answered, so this is most likely a schedd too old for late
            # materialization, where no cluster can have jobs still to come
            return {}
        for c in clusters:
            nxt, total = found.get(c, (0, 0))
            if total is not None and nxt >= total:
                self._no_factory.add(c)
        return found

    def _history(self, job_ids: set[str]) -> dict[str, JobState]:
        """Jobs that left the queue, from condor_history (stops once all are found)."""
        out: dict[str, JobState] = {}
        for constraint, n in ads.jobs_constraints(job_ids):  # one, unless jobs are very scattered
            args = ["-constraint", constraint, "-limit", str(n)]
            try:
                found = self._ads(["condor_history"], args, ads.QUERY_ATTRIBUTES)
            except JobError:
                return out  # no history (or not readable): the loop reads the exit-status files
            for ad in found:
                job_id = ads.ad_job_id(ad)
                if job_id in job_ids:
                    out[job_id] = ads.job_state(ad, "condor_history")
        return out

    def find_submission(self, plan: SubmissionPlan) -> list[str] | None:
        # PipekitTag, not JobBatchName: a -batch-name in submit_args would change the latter
        constraint = f"PipekitTag == {ads.classad_string(plan.tag)}"
        try:
            found = self._ads(["condor_q"], ["-constraint", constraint], ("ClusterId", "ProcId"))
        except JobError as e:
            raise JobError(f"cannot tell whether submission {plan.tag} reached HTCondor: {e}") from None
        if not found:
            try:
                found = self._ads(["condor_history"], ["-constraint", constraint, "-limit", "1"],
                                  ("ClusterId", "ProcId"))
            except JobError:
                found = []
        ids = [ads.parse_job_id(ads.ad_job_id(ad) or "") for ad in found]
        clusters = sorted({p[0] for p in ids if p})
        if not clusters:
            return None
        return [f"{clusters[0]}.{i}" for i in range(len(plan))]

    # -- cancelling -----------------------------------------------------------------------------

    def cancel(self, job_ids: Sequence[str]) -> None:
        wanted = [i for i in job_ids if ads.parse_job_id(i)]
        if not wanted:
            return
        clusters = {ads.parse_job_id(i)[0] for i in wanted}  # type: ignore[index]
        live: dict[int, set[int]] = {}
        for ad in self._ads(["condor_q"], ["-constraint", ads.clusters_constraint(clusters)],
                            ("ClusterId", "ProcId")):
            parsed = ads.parse_job_id(ads.ad_job_id(ad) or "")
            if parsed:
                live.setdefault(parsed[0], set()).add(parsed[1])
        args, stuck = ads.removal_plan(wanted, live, self._factories(set(wanted)))
        self._remove(args, "pipekit: --cancel-jobs", check=True)
        if stuck:
            raise JobError(
                f"{len(stuck)} job(s) ({', '.join(stuck[:5])}{', ...' if len(stuck) > 5 else ''}) "
                "are not created yet by their throttled cluster and HTCondor removes them only "
                "with the whole cluster; cancel without --branches, or condor_rm the cluster"
            )

    def _remove(self, args: list[str], reason: str, check: bool = False) -> None:
        for i in range(0, len(args), 500):  # bounded command lines, whatever the job count
            cmd = ["condor_rm", *self._target(), "-reason", reason, *args[i:i + 500]]
            proc = self._run(cmd, check=False)
            # a job that ended meanwhile cannot be found any more: nothing to cancel
            if check and proc.returncode != 0 and "couldn't find" not in proc.stderr.lower():
                raise JobError(f"condor_rm failed: {CommandError(cmd, proc.returncode, proc.stderr)}")


def _throttled(submit_file: str) -> bool:
    """Whether a submit description makes a job factory (late materialization)."""
    try:
        with open(submit_file, encoding="utf-8") as f:
            text = f.read()
    except OSError:
        return True  # cannot tell: ask condor_q -factory when jobs are missing
    return re.search(r"^\s*(max_materialize|max_idle)\s*=", text, re.M | re.I) is not None


class HTCondorWorkflowProxy(BaseRemoteWorkflowProxy):
    """``--workflow htcondor``: the branches run as the jobs of HTCondor clusters."""

    workflow_type = "htcondor"

    def task_defaults(self, config: JobConfig) -> None:
        """What jobs need from the submitting environment."""
        cfg = Config.instance()
        if getattr(config, "shared_filesystem", True):
            # HTCondor starts jobs with an almost empty environment (Slurm passes all of it):
            # forward pipekit's own variables, e.g. LAW_CONFIG_FILE
            config.env.update(self.pipekit_environment())
        elif config.python == sys.executable and not cfg.get_expanded("job", "python_executable", None):
            config.python = "python3"  # the submitting interpreter's path rarely exists there

    def deliver_credentials(self, plan: SubmissionPlan, config: JobConfig,
                            credentials: list[Credential], write: bool = True) -> None:
        """
        HTCondor's own mechanisms, put first so that a user's ``custom_content`` line wins: an
        X.509 proxy as ``x509userproxy`` (HTCondor sends it with the job, sets
        ``X509_USER_PROXY`` there and forwards a renewed proxy file to running jobs), a bearer
        token as ``use_oauth_services = <[htcondor] oauth_services, default scitokens>`` (the
        schedd's credd hands the token it holds, e.g. stored by htgettoken, to the job).
        """
        lines: list[Any] = []
        for cred in credentials:
            if cred.kind == X509:
                lines.append(("x509userproxy", cred.path))
            else:
                services = Config.instance().get_expanded("htcondor", "oauth_services", None)
                lines.append(("use_oauth_services", services or "scitokens"))
        config.custom_content[:0] = lines

    def job_config(self, plan: SubmissionPlan, branches: dict[int, list[int]]) -> JobConfig:
        config = super().job_config(plan, branches)
        if isinstance(config, HTCondorJobConfig):
            config.job_branches = {num: list(bs) for num, bs in branches.items()}
        return config


class HTCondorWorkflow(BaseRemoteWorkflow):
    """
    Workflow mixin: ``--workflow htcondor`` submits the missing branches as the jobs of one
    HTCondor cluster per submission. Hooks (all optional): :meth:`htcondor_output_directory`,
    :meth:`htcondor_bootstrap_file`, :meth:`htcondor_stageout_file`, :meth:`htcondor_job_config`,
    :meth:`htcondor_workflow_requires`, :meth:`htcondor_check_job_completeness`,
    :meth:`htcondor_poll_callback`, :meth:`htcondor_job_resources`; defaults come from the
    ``[htcondor]`` and ``[job]`` sections of law.cfg.
    """

    exclude_index = True
    workflow_proxy_cls = HTCondorWorkflowProxy

    htcondor_pool = luigi.Parameter(default=NO_STR, significant=False,
                                    description="HTCondor pool (condor_* -pool); default: "
                                    "[htcondor] pool in law.cfg, else the local pool")
    htcondor_scheduler = luigi.Parameter(default=NO_STR, significant=False,
                                         description="HTCondor schedd name (condor_* -name); "
                                         "default: [htcondor] scheduler, else the local schedd")

    exclude_params_branch = {"htcondor_pool", "htcondor_scheduler"}  # united with the bases' sets

    def htcondor_output_directory(self) -> Any:
        """Where the ledger and job files go (a local directory or directory target).
        Default: the directory of the first branch's first output."""
        return None

    def htcondor_bootstrap_file(self) -> Any:
        """A bash file sourced by each job before Python starts (path or JobInputFile).
        Default: ``[htcondor] bootstrap_file``, else ``[job] bootstrap_file``, else none."""
        return None

    def htcondor_stageout_file(self) -> Any:
        """A bash file sourced by each job after its branches ran, with their exit code as ``$1``
        (path or JobInputFile); failing makes the job fail with exit code 4 and be resubmitted.
        Default: ``[htcondor] stageout_file``, else ``[job] stageout_file``, else none."""
        return None

    def htcondor_job_config(self, config: HTCondorJobConfig, job_num: int,
                            branches: list[int]) -> HTCondorJobConfig:
        """Change the settings of a submission (universe, requirements, cpus, memory, disk,
        gpus, max_runtime, accounting_group, max_idle, shared_filesystem, stageout_file,
        input_files, custom_content, extra_args, env, python). Called once per submission (one
        cluster): *job_num* is its first job, *branches* all branches it runs. Return the config."""
        return config

    def htcondor_workflow_requires(self) -> Any:
        """Requirements of the HTCondor workflow besides ``workflow_requires()`` (kept with --pilot)."""
        return {}

    def htcondor_check_job_completeness(self) -> bool:
        """Whether a finished job's branch outputs are checked (the node already checks them)."""
        return False

    def htcondor_poll_callback(self, poll_data: Any) -> Any:
        """Called every poll cycle with a :class:`pipekit.job.loop.PollData`; return False to stop polling."""
        return None

    def htcondor_job_resources(self, job_num: int, branches: list[int]) -> dict[str, int]:
        """luigi resources one job uses (summed over the jobs that may run at once)."""
        return {}

    def htcondor_job_manager_cls(self) -> type:
        return HTCondorJobManager

    def htcondor_create_job_manager(self, **kwargs: Any) -> HTCondorJobManager:
        for name in ("pool", "scheduler"):
            value = getattr(self, f"htcondor_{name}")
            if value not in (None, "", NO_STR):
                kwargs.setdefault(name, value)
        return self.htcondor_job_manager_cls()(**kwargs)

    def htcondor_job_file_factory_cls(self) -> type:
        return HTCondorJobFileFactory

    def htcondor_create_job_file_factory(self, **kwargs: Any) -> HTCondorJobFileFactory:
        return self.htcondor_job_file_factory_cls()(**kwargs)

    def process_resources(self) -> dict[str, int]:
        """luigi resources: for the workflow, those of the jobs that may run at the same time."""
        if (self.is_branch() or self.workflow_type != "htcondor"
                or type(self).htcondor_job_resources is HTCondorWorkflow.htcondor_job_resources):
            return super().process_resources()
        return self.summed_job_resources(self.htcondor_job_resources)
