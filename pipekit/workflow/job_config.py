"""
:class:`JobConfigBuilder`: how a remote workflow builds the :class:`~pipekit.job.base.JobConfig`
of one submission, in this order — the backend's law.cfg defaults (``factory.new_config()``),
``[job] python_executable``, the bootstrap and stage-out files, the node-side settings
(``scratch_dir``, ``keep_scratch``, ``bundle_cache``), the bundles the workflow requires, the
attempt and earlier failure reasons of each job, the task's parameters, the user's
``<type>_job_config`` hook, and last the retry policy (more memory or time after ``oom`` /
``walltime`` failures). Mixed into :class:`pipekit.workflow.remote.BaseRemoteWorkflowProxy`.
"""

from __future__ import annotations

from typing import Any

from pipekit.config import Config
from pipekit.errors import UsageError
from pipekit.job.base import JobConfig, SubmissionPlan
from pipekit.parameter import NO_FLOAT, NO_STR
from pipekit.ranges import join_ranges

__all__ = ["JobConfigBuilder"]


class JobConfigBuilder:
    """The job-config part of the remote workflow proxy (see the module docstring)."""

    workflow_type: str
    task: Any
    hook: Any
    job_file_factory: Any
    label: str
    say: Any

    def job_config(self, plan: SubmissionPlan, branches: dict[int, list[int]]) -> JobConfig:
        """
        Defaults from law.cfg and the bootstrap and stage-out hooks, then
        ``<type>_job_config(...)``.
        """
        cfg = Config.instance()
        config = self.job_file_factory.new_config()
        python = cfg.get_expanded("job", "python_executable", None)
        if python:
            config.python = python
        config.bootstrap_file = self.input_file("bootstrap_file")
        config.stageout_file = self.input_file("stageout_file")
        if self.task.job_workers > 1 and hasattr(config, "cpus") and not config.cpus:
            config.cpus = self.task.job_workers
        self.node_defaults(config)
        config.jobs = dict(plan.attempts)
        self.task_defaults(config)
        all_branches = sorted(b for bs in branches.values() for b in bs)
        result = self.hook("job_config")(config, plan.job_nums[0], all_branches)
        config = config if result is None else result
        self.adapt_resources(config)
        config.bundles = self.bundle_refs(config.bundles)
        return config

    def node_setting(self, name: str) -> str | None:
        """``[<type>] <name>``, else ``[job] <name>`` of law.cfg, unexpanded: a shell word for the
        node (``$TMPDIR`` means the node's)."""
        cfg = Config.instance()
        for section in (self.workflow_type, "job"):
            if cfg.has_option(section, name):
                value = cfg.get(section, name)
                if value not in (None, ""):
                    return str(value).strip()
        return None

    def node_defaults(self, config: JobConfig) -> None:
        """Scratch directory, bundle cache and bundles: the law.cfg settings and the bundle tasks
        among the workflow's requirements (the job-config hook may change all of them)."""
        config.scratch_dir = self.node_setting("scratch_dir")
        keep = self.node_setting("keep_scratch")
        config.keep_scratch = bool(keep) and keep.lower() in ("1", "true", "yes", "on")
        config.bundle_cache = self.node_setting("bundle_cache")
        config.bundles = self.bundle_tasks()

    def bundle_tasks(self) -> list[Any]:
        """The bundle tasks the workflow requires (``workflow_requires()``, also with --pilot, and
        ``<type>_workflow_requires()``): their bundles go to every job."""
        from pipekit.bundle.base import find_bundles

        return find_bundles([self.task.workflow_requires(), self.hook("workflow_requires")()])

    def bundle_refs(self, bundles: list[Any]) -> list[Any]:
        """*bundles* (bundle tasks or refs) as :class:`pipekit.bundle.BundleRef`, checked."""
        from pipekit.bundle.base import BundleTask
        from pipekit.bundle.ref import BundleRef

        refs = []
        for b in bundles:
            if isinstance(b, BundleTask):
                if not b.complete():
                    raise UsageError(f"the bundle {b!r} of {self.task.get_task_family()} does not "
                                     f"exist yet ({b.output()!r}); it must run before the jobs are "
                                     "submitted: require it in workflow_requires() (--pilot skips "
                                     "requirements)")
                b = b.bundle_ref()
            elif isinstance(b, dict):
                b = BundleRef.from_dict(b)
            if not isinstance(b, BundleRef):
                raise UsageError(f"job config bundles must be bundle tasks or BundleRefs, got {b!r}")
            if b.key not in {r.key for r in refs}:
                refs.append(b)
        return refs

    def adapt_resources(self, config: JobConfig) -> None:
        """Raise memory and walltime of retried jobs per the retry policy, and say so."""
        notes = self.retry_policy().apply(config)
        if notes:
            jobs = join_ranges(sorted(config.jobs))
            self.say(f"{self.label}: job(s) {jobs}, attempt {config.attempt} after "
                     f"{config.last_reason}: {'; '.join(notes)}")

    def retry_policy(self) -> Any:
        """The :class:`pipekit.job.retry.RetryPolicy` of ``--retry-*`` and ``[job] retry_*``."""
        from pipekit.job.retry import RetryPolicy

        t, cfg = self.task, Config.instance()

        def value(param: Any, option: str) -> Any:
            if param not in (None, NO_FLOAT, NO_STR, ""):
                return param
            return cfg.get_expanded(self.workflow_type, option, None) or \
                cfg.get_expanded("job", option, None)

        return RetryPolicy.from_values(
            memory_factor=value(t.retry_memory_factor, "retry_memory_factor"),
            walltime_factor=value(t.retry_walltime_factor, "retry_walltime_factor"),
            memory_max=value(t.retry_memory_max, "retry_memory_max"),
            walltime_max=value(t.retry_walltime_max, "retry_walltime_max"),
            max_free_retries=value(None, "max_free_retries"),
        )

    def input_file(self, name: str) -> Any:
        """
        The ``<type>_<name>()`` hook's file (``bootstrap_file``, ``stageout_file``), else
        ``[<type>] <name>``, else ``[job] <name>`` of law.cfg, else None.
        """
        hook = getattr(self.task, f"{self.workflow_type}_{name}", None)  # older backends lack one
        path = hook() if hook is not None else None
        if path is None:
            cfg = Config.instance()
            path = (cfg.get_expanded(self.workflow_type, name, None)
                    or cfg.get_expanded("job", name, None))
        return path

    def task_defaults(self, config: JobConfig) -> None:
        """Apply task parameters to *config* before the user's job-config hook (backends)."""
