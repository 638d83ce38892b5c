"""
Remote workflows: the branches run as batch jobs. :class:`BaseRemoteWorkflow` adds law's
remote-workflow parameters (``--retries``, ``--tasks-per-job``, ``--parallel-jobs``, ``--no-poll``,
``--poll-interval``, ``--poll-fails``, ``--walltime``, ``--job-workers``, ``--shuffle-jobs``,
``--cancel-jobs``, ``--cleanup-jobs``, ``--ignore-submission``, ``--transfer-logs``,
``--clear-logs``) and ``--dry-run``; :class:`BaseRemoteWorkflowProxy` is the workflow-level run:
it writes the job specs and batch scripts and hands the rest to the backend-independent
:class:`pipekit.job.loop.JobLoop`.

A batch backend (``pipekit/batch/slurm.py``) subclasses both: the proxy with
``workflow_type = "slurm"``, and the workflow mixin with the ``slurm_*`` hooks a user overrides
(``slurm_output_directory``, ``slurm_bootstrap_file``, ``slurm_job_config``,
``slurm_workflow_requires``, ``slurm_check_job_completeness``, ``slurm_poll_callback``,
``slurm_job_resources``, ``slurm_create_job_manager``, ``slurm_create_job_file_factory``). The
proxy looks hooks up as ``<workflow_type>_<name>``, so ``htcondor_*`` hooks slot in the same way.

Files of a workflow's jobs live in one directory next to its outputs (see
:meth:`BaseRemoteWorkflowProxy.jobs_directory`): the ledger ``ledger.json`` and one directory per
submission holding the batch script, one job spec, log and exit-status file per job.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import sys
import time
from typing import Any, Callable

import luigi

from pipekit.config import Config
from pipekit.dicts import DotDict
from pipekit.errors import CredentialError, JobError, UsageError, WorkflowError
from pipekit.job.base import (
    CANCELLED,
    BaseJobFileFactory,
    BaseJobManager,
    JobConfig,
    SubmissionPlan,
)
from pipekit.job.ledger import SubmissionLedger
from pipekit.job.loop import JobLoop, LoopSettings, PollData, chunk_branches, new_tag
from pipekit.job.registry import register_ledger
from pipekit.job.spec import JobSpec
from pipekit.job.status_line import format_counts
from pipekit.parameter import NO_FLOAT, NO_INT, NO_STR, BoundedIntParameter, DurationParameter
from pipekit.ranges import join_ranges
from pipekit.target.file import FileSystemTarget
from pipekit.target.local import LocalFileSystem
from pipekit.task.base import flatten_outputs
from pipekit.workflow.base import BaseWorkflow, BaseWorkflowProxy
from pipekit.workflow.credentials import RemoteCredentials
from pipekit.workflow.job_config import JobConfigBuilder

__all__ = ["BaseRemoteWorkflow", "BaseRemoteWorkflowProxy", "REMOTE_PARAMS"]

#: parameters of remote workflows; branches (and thus jobs) do not carry them
REMOTE_PARAMS = {
    "retries", "tasks_per_job", "parallel_jobs", "no_poll", "poll_interval", "poll_fails",
    "walltime", "job_workers", "shuffle_jobs", "cancel_jobs", "cleanup_jobs", "ignore_submission",
    "transfer_logs", "clear_logs", "dry_run", "retry_memory_factor", "retry_walltime_factor",
    "retry_memory_max", "retry_walltime_max",
}


class BaseRemoteWorkflowProxy(RemoteCredentials, JobConfigBuilder, BaseWorkflowProxy):
    """
    The workflow-level run of a remote workflow type. Subclasses set :attr:`workflow_type`;
    hooks are the task's ``<workflow_type>_<name>`` methods.
    """

    workflow_type = ""

    def __init__(self, task: BaseRemoteWorkflow):
        super().__init__(task)
        self._manager: BaseJobManager | None = None
        self._factory: BaseJobFileFactory | None = None
        self._base_spec: JobSpec | None = None
        self._settled = False

    # -- hooks and backends ---------------------------------------------------------------------

    def hook(self, name: str) -> Callable:
        """The task's ``<workflow_type>_<name>`` method."""
        return getattr(self.task, f"{self.workflow_type}_{name}")

    @property
    def job_manager(self) -> BaseJobManager:
        if self._manager is None:
            self._manager = self.hook("create_job_manager")()
        return self._manager

    @property
    def job_file_factory(self) -> BaseJobFileFactory:
        if self._factory is None:
            self._factory = self.hook("create_job_file_factory")()
        return self._factory

    @property
    def label(self) -> str:
        return f"{self.task.get_task_family()}[{self.workflow_type}]"

    # -- luigi ----------------------------------------------------------------------------------

    def requires(self) -> Any:
        reqs = {} if self.task.pilot else self.task.workflow_requires()
        extra = self.hook("workflow_requires")()
        if not extra:
            return reqs
        if not reqs:
            return extra
        if isinstance(reqs, dict) and isinstance(extra, dict):
            return {**reqs, **extra}
        return [reqs, extra]

    def output(self) -> Any:
        """
        As in law: ``collection`` (the branches' outputs) and ``jobs``, the submission ledger
        (job ids, attempts, states), which does not count for completeness.
        """
        from pipekit.target.local import LocalFileTarget

        outputs = DotDict(self.task.workflow_output())
        outputs["jobs"] = LocalFileTarget(self.ledger_path(), optional=True)
        return outputs

    def complete(self) -> bool:
        t = self.task
        if t.cancel_jobs or t.cleanup_jobs or t.dry_run:
            return False  # these modes act on the jobs, whatever the outputs say
        done = super().complete()
        if done and not self._settled:
            self._settled = True
            self._settle_ledger()
        return done

    def _settle_ledger(self) -> None:
        """A complete workflow runs no job loop: settle what its ledger still lists as active."""
        try:
            path = self.ledger_path()
            if os.path.exists(path):
                SubmissionLedger.load(path).settle_and_save()
        except (UsageError, JobError):
            pass  # no ledger to speak of; --print-status shows why

    def run(self) -> None:
        t = self.task
        if t.cancel_jobs:
            return self.cancel()
        if t.cleanup_jobs:
            return self.cleanup()
        if t.dry_run:
            return self.dry_run()
        return self.run_jobs()

    # -- where files go -------------------------------------------------------------------------

    def output_directory(self) -> str:
        """``<type>_output_directory()``, or the directory of the first branch's first output."""
        out = self.hook("output_directory")()
        if out is None:
            out = self._default_output_directory()
        path = getattr(out, "abspath", None) or getattr(out, "path", None) or out
        if not isinstance(path, str) or "://" in path:
            raise UsageError(f"{self.workflow_type}_output_directory() of {self.task.get_task_family()} "
                             f"must be a local directory, got {out!r}")
        return os.path.abspath(os.path.expanduser(path))

    def _default_output_directory(self) -> str:
        task = self.task
        first = next(iter(task.branch_map), None)
        outputs = flatten_outputs(task.branch_task(first).output()) if first is not None else []
        for target in outputs:
            if isinstance(target, FileSystemTarget) and isinstance(target.fs, LocalFileSystem):
                return os.path.dirname(target.abspath)
        raise UsageError(
            f"cannot tell where the job files of {task.get_task_family()} go: its outputs are not "
            f"local files; define {self.workflow_type}_output_directory() to return a local directory"
        )

    def jobs_directory(self) -> str:
        """``<output directory>/pipekit_<type>_<Family>_<key>``: the ledger and job files."""
        name = f"pipekit_{self.workflow_type}_{self.task.get_task_family()}_{self.ledger_key()}"
        return os.path.join(self.output_directory(), name)

    def ledger_path(self) -> str:
        return os.path.join(self.jobs_directory(), "ledger.json")

    def load_ledger(self) -> SubmissionLedger:
        info = {"family": self.task.get_task_family(), "type": self.workflow_type,
                "task": repr(self.task)}
        return SubmissionLedger.load(self.ledger_path(), info)

    def note_ledger(self, ledger: SubmissionLedger) -> None:
        """Keep the workflow's branch count in *ledger* and list a new one for ``pipekit status``."""
        ledger.workflow["branches"] = len(self.task.get_branch_map(reduce_branches=False))
        if not ledger.exists:
            register_ledger(ledger.path, ledger.workflow)

    # -- JobSource: what the loop asks ----------------------------------------------------------

    def selected_branches(self) -> list[int]:
        return list(self.task.branch_map)

    def missing_branches(self) -> list[int]:
        return self.task.missing_branches()

    def allowed_failures(self, n_total: int) -> float:
        return self.task.allowed_failures(n_total)

    def publish_progress(self, percentage: float) -> None:
        self.task.publish_progress(percentage)

    def check_job_completeness(self) -> bool:
        return bool(self.hook("check_job_completeness")())

    def poll_callback(self, poll_data: PollData) -> Any:
        return self.hook("poll_callback")(poll_data)

    def new_plan(self, tag: str, job_nums: list[int]) -> SubmissionPlan:
        return SubmissionPlan(tag=tag, directory=os.path.join(self.jobs_directory(), tag),
                              job_nums=list(job_nums), job_name=self.job_name(tag),
                              cwd=os.getcwd(), parallel=self.task.max_parallel_jobs(),
                              first_index=self.job_manager.first_array_index)

    def job_name(self, tag: str) -> str:
        """The batch job name of submission *tag*: how a lost submission is found again."""
        return f"pk_{self.task.get_task_family()[:40]}_{tag}"

    def spec_exclude(self) -> set[str]:
        """Workflow parameters that job specs leave out (branch-level exclusions)."""
        return set(self.task.exclude_params_branch) | REMOTE_PARAMS | {"branch", "branches", "workflow"}

    def prepare_submission(self, plan: SubmissionPlan, branches: dict[int, list[int]],
                           attempts: dict[int, int], write: bool = True) -> tuple[str, JobConfig]:
        """Write the job specs and the batch script of *plan*; returns (script path, config)."""
        if self._base_spec is None:
            self._base_spec = JobSpec.from_workflow(self.task, [], self.spec_exclude(),
                                                    workers=self.task.job_workers)
        config = self.job_config(plan, branches)
        if write:
            os.makedirs(plan.directory, exist_ok=True)
            for i, num in enumerate(plan.job_nums):
                self.spec_for(plan, i, branches[num], attempts.get(num, 1),
                              config).dump(plan.spec_file(i))
        self.provide_credentials(plan, config, write)
        if not write:
            return os.path.join(plan.directory, self.job_file_factory.script_name), config
        return self.job_file_factory.create(plan, config), config

    def spec_for(self, plan: SubmissionPlan, index: int, branches: list[int], attempt: int,
                 config: JobConfig | None = None) -> JobSpec:
        assert self._base_spec is not None
        bundles = [ref.to_dict() for ref in config.bundles] if config is not None else []
        return dataclasses.replace(self._base_spec, branches=list(branches),
                                   job_num=plan.job_nums[index], attempt=attempt, tag=plan.tag,
                                   bundles=bundles)

    @staticmethod
    def pipekit_environment() -> dict[str, str]:
        """
        pipekit's own variables of the submitting environment (``LAW_*``, ``PIPEKIT_*``, e.g.
        ``LAW_CONFIG_FILE``), for batch systems that start jobs with an almost empty one.
        """
        return {k: v for k, v in os.environ.items()
                if k.startswith(("LAW_", "PIPEKIT_")) and re.match(r"^\w+$", k)}

    def loop_settings(self) -> LoopSettings:
        t = self.task
        grace = Config.instance().get_expanded_float("job", "lost_job_grace", 10.0)
        return LoopSettings(
            retries=max(0, t.retries), tasks_per_job=max(1, t.tasks_per_job),
            parallel_jobs=t.max_parallel_jobs(),
            poll_interval=max(0.05, t.poll_interval * 60.0), poll_fails=t.poll_fails,
            walltime=None if t.walltime in (None, NO_FLOAT) or t.walltime <= 0 else t.walltime * 3600.0,
            shuffle_jobs=t.shuffle_jobs, no_poll=t.no_poll, acceptance=t.acceptance,
            lost_grace=grace, retry_policy=self.retry_policy(),
        )

    # -- running --------------------------------------------------------------------------------

    def say(self, msg: str) -> None:
        # the current stdout, not the one bound as publish_message's default at import time
        self.task.publish_message(msg, stdout=sys.stdout)

    def run_jobs(self) -> None:
        path = self.ledger_path()
        with SubmissionLedger.lock(path):
            if self.task.ignore_submission and os.path.exists(path):
                aside = f"{path}.ignored-{time.strftime('%Y%m%d-%H%M%S')}"
                os.replace(path, aside)
                self.say(f"{self.label}: --ignore-submission: moved the ledger to {aside}; jobs "
                         "it lists are neither re-attached nor cancelled")
            ledger = self.load_ledger()
            self.note_ledger(ledger)
            loop = JobLoop(self, self.job_manager, ledger, self.loop_settings(), say=self.say)
            try:
                result = loop.run()
            except CredentialError as e:
                active = len([j for j in loop.relevant_active() if j.job_id])
                if not active:
                    raise
                raise CredentialError(f"{e}; {active} job(s) are still active: renew it and run "
                                      "the same command again to attach to them") from None
            except KeyboardInterrupt:
                ledger.save()
                self.say(f"{self.label}: interrupted; jobs keep running: run the same command "
                         "again to attach to them, or with --cancel-jobs to cancel them")
                raise
            if self.task.clear_logs:
                self._clear_logs(ledger, loop.touched)
        if not result.ok:
            raise WorkflowError(result.text())
        self.say(result.text())

    def _clear_logs(self, ledger: SubmissionLedger, nums: set[int]) -> None:
        for num in nums:
            job = ledger.jobs[num]
            if job.state == "finished" and job.log and os.path.exists(job.log):
                os.remove(job.log)

    def _attached(self) -> tuple[SubmissionLedger, JobLoop]:
        ledger = self.load_ledger()
        loop = JobLoop(self, self.job_manager, ledger, self.loop_settings(), say=self.say)
        loop.recover()
        return ledger, loop

    def cancel(self) -> None:
        """``--cancel-jobs``: cancel the active jobs the ledger lists for the selected branches."""
        with SubmissionLedger.lock(self.ledger_path()):
            if not os.path.exists(self.ledger_path()):
                self.say(f"{self.label}: no jobs to cancel (no ledger at {self.ledger_path()})")
                return
            ledger, loop = self._attached()
            jobs = loop.relevant_active()
            ids = [j.job_id for j in jobs if j.job_id]
            if ids:
                self.job_manager.cancel(ids)
            now = time.time()
            for job in jobs:
                job.state, job.error, job.ended = "failed", "cancelled with --cancel-jobs", now
                job.reason = CANCELLED
            ledger.save()
            self.say(f"{self.label}: cancelled {len(jobs)} job(s)"
                     + (f" ({self.job_manager.batch_system} ids {', '.join(ids[:5])}"
                        f"{', ...' if len(ids) > 5 else ''})" if ids else ""))

    def cleanup(self) -> None:
        """``--cleanup-jobs``: remove the files of ended jobs (and the ledger when none is active)."""
        with SubmissionLedger.lock(self.ledger_path()):
            if not os.path.exists(self.ledger_path()):
                self.say(f"{self.label}: no job files to clean up")
                return
            ledger, _ = self._attached()
            active_tags = {j.tag for j in ledger.active_jobs()}
            ended = [j.job_id for j in ledger.jobs.values() if not j.active and j.job_id]
            self.job_manager.cleanup(ended)
            removed = 0
            for tag, sub in list(ledger.submissions.items()):
                if tag in active_tags:
                    continue
                shutil.rmtree(sub["directory"], ignore_errors=True)
                removed += 1
            if active_tags:
                ledger.save()
                self.say(f"{self.label}: removed the files of {removed} ended submission(s); "
                         f"{len(ledger.active_jobs())} job(s) are still active and kept")
                return
            os.remove(self.ledger_path())
            self.say(f"{self.label}: removed the ledger and the files of {removed} submission(s)")
        shutil.rmtree(self.jobs_directory(), ignore_errors=True)

    def dry_run(self) -> None:
        """
        ``--dry-run``: print every file a submission writes for the batch system (the batch
        script or submit description, and what the jobs run), the input files it copies, the
        submit command and the first job spec; submit and write nothing.
        """
        ledger = self.load_ledger()
        active = ledger.active_branches()
        todo = [b for b in self.missing_branches() if b not in active]
        if not todo:
            self.say(f"{self.label}: dry run: nothing to submit")
            return
        chunks = chunk_branches(todo, max(1, self.task.tasks_per_job), self.task.shuffle_jobs)
        first = ledger.next_job_num
        nums = list(range(first, first + len(chunks)))
        size = self.job_manager.max_jobs_per_submission() or len(nums)
        n_subs = (len(nums) + size - 1) // size
        print(f"{self.label}: dry run: {len(chunks)} job(s) for {len(todo)} branches in "
              f"{n_subs} submission(s); nothing is submitted or written")
        if n_subs > 1 and self.task.max_parallel_jobs():
            print(f"(with --parallel-jobs {self.task.max_parallel_jobs()}, a submission goes out when "
                  "the running ones leave slots free; its throttle is the number of free slots)")
        for i in range(0, len(nums), size):
            part = nums[i:i + size]
            self._print_submission(self.new_plan(new_tag(), part),
                                   {n: chunks[n - first] for n in part})

    def _print_submission(self, plan: SubmissionPlan, branches: dict[int, list[int]]) -> None:
        from pipekit.shell import quote_args

        factory = self.job_file_factory
        script, config = self.prepare_submission(plan, branches, {}, write=False)
        sources = [f for f in factory.input_files(config) if f not in (None, "")]
        factory.resolve_inputs(plan, config, write=False)
        copies = [f for f in factory.input_files(config) if f not in (None, "")]
        for f in factory.job_files(plan, config):
            print(f"\n----- {f.label}: {f.path} -----\n{f.text}", end="")
        if sources:
            print(f"----- input files (copied into {plan.directory} at submission) -----")
            for src, dst in zip(sources, copies):
                src, dst = os.path.abspath(os.path.expanduser(str(src))), str(dst)
                print(f"{src} -> {dst}" if src != dst else f"{src} (used where it is)")
        print("----- credentials -----")
        print("\n".join(self.credential_lines()))
        cmd = self.job_manager.submit_command(plan, script, config)
        spec = self.spec_for(plan, 0, branches[plan.job_nums[0]], 1, config)
        print(f"----- submit command -----\n{quote_args(cmd)}")
        print(f"----- job spec: {plan.spec_file(0)} (job {plan.job_nums[0]}, the first of "
              f"{len(plan)}) -----\n{json.dumps(dataclasses.asdict(spec), indent=1)}")

    # -- inspection -----------------------------------------------------------------------------

    def extra_status_lines(self, target_depth: int) -> list[str]:
        """Job counts and, per failed or active job, its state and log (all jobs at depth > 0)."""
        try:
            path = self.ledger_path()
        except UsageError as e:
            return [f"{self.workflow_type} jobs: {e}"]
        if not os.path.exists(path):
            return [f"{self.workflow_type} jobs: none submitted yet (ledger {path})",
                    *self.status_credential_lines()]
        try:
            ledger = SubmissionLedger.load(path)
        except Exception as e:  # a broken ledger is shown, not fatal for --print-status
            return [f"{self.workflow_type} jobs: {e}"]
        ledger.settle_and_save()  # jobs that ended while no loop watched them
        lines = [f"{self.workflow_type} jobs: {format_counts(ledger.counts())} (ledger {path})"]
        lines += self.status_credential_lines()
        jobs = sorted(ledger.jobs.values(), key=lambda j: j.num)
        shown = jobs if target_depth > 0 else [j for j in jobs if j.state != "finished"]
        for job in shown[:50]:
            why = job.state == "failed" and job.reason not in (None, "exit_code")  # exit_code: the default
            state = f"{job.state} ({job.reason})" if why else job.state
            what = f"{state}, attempt {job.attempt}"
            if job.job_id:
                what += f", id {job.job_id}"
            if job.error and job.state != "finished":
                what += f", {job.error}"
            lines.append(f"  job {job.num} (branches {join_ranges(job.branches)}): {what}; log: {job.log}")
            if job.history:
                lines.append(f"    attempts: {format_attempts(job)}")
        if len(shown) > 50:
            lines.append(f"  ... {len(shown) - 50} more (ledger {path})")
        return lines


def format_attempts(job: Any) -> str:
    """Each attempt of a ledger job in one line: ``1 oom [memory 2G], 2 finished [memory 3G]``."""
    parts = []
    for a in [*job.history, job.to_dict()]:
        state = a.get("state")
        what = (a.get("reason") or "exit_code") if state == "failed" else state
        if state == "failed" and a.get("exit_code") not in (None, 0):
            what += f" (exit code {a['exit_code']})"
        res = a.get("resources") or {}
        if res:
            what += " [" + ", ".join(f"{k} {v}" for k, v in res.items()) + "]"
        parts.append(f"{a.get('attempt')} {what}")
    return ", ".join(parts)


class BaseRemoteWorkflow(BaseWorkflow):
    """
    Base of remote workflow mixins (:class:`pipekit.slurm.SlurmWorkflow`, ...): the
    remote-workflow parameters. Branches do not carry them (:attr:`exclude_params_branch`).
    """

    exclude_index = True

    retries = luigi.IntParameter(default=5, significant=False,
                                 description="resubmissions of a failed job; default: 5")
    tasks_per_job = BoundedIntParameter(default=1, minimum=1, significant=False,
                                        description="branches run by one job; default: 1")
    parallel_jobs = BoundedIntParameter(default=NO_INT, minimum=1, special=(NO_INT,),
                                        hint="leave it out for no limit", significant=False,
                                        description="most jobs of the workflow running at once, "
                                        "over all its submissions; default: no limit")
    no_poll = luigi.BoolParameter(default=False, significant=False,
                                  description="submit and return without polling; run again to attach")
    poll_interval = DurationParameter(default=1.0, unit="m", significant=False,
                                      description="time between status queries (plain numbers "
                                      "are minutes, or e.g. 30s); default: 1 minute")
    poll_fails = luigi.IntParameter(default=5, significant=False,
                                    description="failed status queries in a row before giving up; "
                                    "default: 5")
    walltime = DurationParameter(default=NO_FLOAT, unit="h", significant=False,
                                 description="longest time to poll (plain numbers are hours); "
                                 "default: no limit")
    job_workers = BoundedIntParameter(default=1, minimum=1, significant=False,
                                      description="branches a job runs in parallel; default: 1")
    shuffle_jobs = luigi.BoolParameter(default=False, significant=False,
                                       description="submit jobs in random order")
    cancel_jobs = luigi.BoolParameter(default=False, significant=False,
                                      description="cancel the workflow's active jobs; submit nothing")
    cleanup_jobs = luigi.BoolParameter(default=False, significant=False,
                                       description="remove the files of ended jobs; submit nothing")
    ignore_submission = luigi.BoolParameter(default=False, significant=False,
                                            description="start a new ledger instead of re-attaching "
                                            "to the jobs of the existing one")
    transfer_logs = luigi.BoolParameter(default=False, significant=False,
                                        description="law compatibility: job logs are always written "
                                        "to the job directory next to the outputs")
    clear_logs = luigi.BoolParameter(default=False, significant=False,
                                     description="remove the logs of successful jobs at the end")
    dry_run = luigi.BoolParameter(default=False, significant=False,
                                  description="print the batch script(s) and submit command(s); "
                                  "submit nothing")
    retry_memory_factor = luigi.FloatParameter(default=NO_FLOAT, significant=False,
                                               description="memory request multiplier per earlier "
                                               "out-of-memory failure of a job; default: [job] "
                                               "retry_memory_factor, else 1.5 (1: off)")
    retry_walltime_factor = luigi.FloatParameter(default=NO_FLOAT, significant=False,
                                                 description="time-limit multiplier per earlier "
                                                 "time-limit failure of a job; default: [job] "
                                                 "retry_walltime_factor, else 2 (1: off)")
    retry_memory_max = luigi.Parameter(default=NO_STR, significant=False,
                                       description="largest memory request retries may reach, "
                                       "e.g. 16G; default: [job] retry_memory_max, else no cap")
    retry_walltime_max = luigi.Parameter(default=NO_STR, significant=False,
                                         description="longest time limit retries may reach, e.g. "
                                         "48h; default: [job] retry_walltime_max, else no cap")

    def job_credentials(self) -> str | None:
        """
        Which grid credentials the jobs need: ``"x509"`` (an X.509 proxy), ``"token"`` (a WLCG
        bearer token), ``"x509,token"``, ``"auto"`` (forward what exists and lasts) or
        ``"none"``. Before every submission the workflow checks that each required one exists
        and lives at least the job walltime plus ``[job] credential_margin``. Default (None):
        ``[<type>] credentials``, else ``[job] credentials`` of law.cfg, else the backend's
        default (``auto``; ARC: ``x509``).
        """
        return None

    def max_parallel_jobs(self) -> int | None:
        """``--parallel-jobs`` as a number of jobs; None when unset or not positive (no limit)."""
        n = self.parallel_jobs
        return n if n not in (None, NO_INT) and n > 0 else None

    def summed_job_resources(self, job_resources: Callable[[int, list[int]], dict[str, int]]) -> dict[str, int]:
        """
        luigi resources of the workflow: ``job_resources(job_num, branches)`` summed over the jobs
        that may run at the same time (the first ``--parallel-jobs`` of them; all without it).
        """
        totals: dict[str, int] = {}
        jobs = chunk_branches(list(self.branch_map), self.tasks_per_job)[:self.max_parallel_jobs()]
        for num, branches in enumerate(jobs):
            for key, value in job_resources(num, branches).items():
                totals[key] = totals.get(key, 0) + value
        return totals

    # the metaclass unites these with the sets of every base class (workflow/base.py's too)
    exclude_params_branch = set(REMOTE_PARAMS)
    exclude_params_repr = {"cancel_jobs", "cleanup_jobs", "dry_run"}
    exclude_params_req_set = {"no_poll", "cancel_jobs", "cleanup_jobs", "dry_run"}
