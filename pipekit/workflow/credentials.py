"""
The credential check of remote workflows (:class:`RemoteCredentials`, a base of
:class:`pipekit.workflow.remote.BaseRemoteWorkflowProxy`): before every submission, find the
grid credentials the jobs need (:mod:`pipekit.grid.credentials`), stop with one line when one is
missing or does not outlive the jobs, and hand the others to the backend's delivery
(:meth:`RemoteCredentials.deliver_credentials`); ``--dry-run`` and ``--print-status`` show what
would be used.

Which credentials: the task's ``job_credentials()``, else ``[<type>] credentials``, else
``[job] credentials`` of law.cfg, else the backend's :attr:`RemoteCredentials.default_credentials`
(``auto``: forward what exists and lasts; ARC: ``x509``). How long: the job walltime the
backend's factory reports (:meth:`pipekit.job.base.BaseJobFileFactory.job_walltime`) plus
``[job] credential_margin`` (default 1 h).
"""

from __future__ import annotations

from typing import Any

from pipekit.config import Config
from pipekit.errors import CredentialError, UsageError
from pipekit.grid import credentials as grid
from pipekit.job.base import JobConfig, SubmissionPlan

__all__ = ["RemoteCredentials", "duration_seconds"]


def duration_seconds(raw: Any) -> float:
    """A duration from law.cfg: a number of seconds or e.g. "1h", "30m", "01:00:00"."""
    from pipekit.humanize import parse_duration

    return float(raw) if isinstance(raw, (int, float)) else parse_duration(str(raw))


class RemoteCredentials:
    """Credential checks and delivery of a remote workflow proxy (see the module docstring)."""

    #: which credentials jobs need unless law.cfg or the task says otherwise (see
    #: :meth:`credential_kinds`): "auto" forwards what exists, "x509" requires a proxy
    default_credentials = "auto"
    #: the tool the credential messages tell users to renew a proxy with
    proxy_tool = "voms-proxy-init"

    #: what the last check found: (credentials, the problem or None)
    last_credentials: tuple[list[grid.Credential], CredentialError | None] = ([], None)
    #: notes already said in this run (each is said once, not once per submission)
    _credential_notes: frozenset[str] = frozenset()

    # the proxy provides: task, workflow_type, label, job_file_factory, say(), new_plan(),
    # job_config()
    task: Any
    workflow_type: str
    job_file_factory: Any

    def credential_kinds(self) -> tuple[str, ...]:
        """
        The credentials the jobs require (:func:`pipekit.grid.credentials.parse_mode`): the
        task's ``job_credentials()``, else ``[<type>] credentials``, else ``[job] credentials``
        of law.cfg, else the backend's :attr:`default_credentials`.
        """
        raw, where = self.task.job_credentials(), f"{self.task.get_task_family()}.job_credentials()"
        if raw is None:
            cfg = Config.instance()
            for section in (self.workflow_type, "job"):
                raw = cfg.get_expanded(section, "credentials", None)
                if raw not in (None, ""):
                    where = f"[{section}] credentials"
                    break
        return grid.parse_mode(raw, self.default_credentials, where)

    def credential_need(self, config: JobConfig) -> grid.LifetimeNeed:
        """How long the jobs of *config* need their credential: walltime + ``[job] credential_margin``."""
        raw = Config.instance().get_expanded("job", "credential_margin", None) or "1h"
        try:
            margin = duration_seconds(raw)
        except ValueError:
            raise UsageError(f"[job] credential_margin = {raw!r} is not a duration; use e.g. 1h, "
                             "30m or 3600") from None
        walltime = self.job_file_factory.job_walltime(config)
        margin_text = f"margin {grid.format_span(margin)} of [job] credential_margin"
        if walltime is None:
            return grid.LifetimeNeed(margin, f"{margin_text}; no job walltime is set")
        return grid.LifetimeNeed(walltime + margin,
                                 f"walltime {grid.format_span(walltime)} + {margin_text}")

    def provide_credentials(self, plan: SubmissionPlan, config: JobConfig, write: bool = True) -> None:
        """
        The check before every submission: find the credentials the jobs need, stop with a
        :class:`CredentialError` (one line: file, lifetime left, how to renew) when one is
        missing or does not outlive the jobs, and hand the others to
        :meth:`deliver_credentials`. Without *write* (``--dry-run``) a problem is kept in
        :attr:`last_credentials` and printed instead.
        """
        kinds = self.credential_kinds()
        creds: list[grid.Credential] = []
        problem = None
        if kinds:
            try:
                creds, notes = grid.credentials_for_jobs(kinds, self.credential_need(config),
                                                         self.proxy_tool)
            except CredentialError as e:
                if write:
                    raise
                problem, notes = e, []
            for note in notes:
                if note not in self._credential_notes:
                    self._credential_notes = self._credential_notes | {note}
                    self.say(f"{self.label}: {note}")  # type: ignore[attr-defined]
        self.last_credentials = (creds, problem)
        self.deliver_credentials(plan, config, creds, write)

    def deliver_credentials(self, plan: SubmissionPlan, config: JobConfig,
                            credentials: list[grid.Credential], write: bool = True) -> None:
        """
        Give the jobs their credentials. Default, for batch systems on a shared file system
        (Slurm, Grid Engine, LSF): a private copy in the submission directory and
        ``X509_USER_PROXY`` / ``BEARER_TOKEN_FILE`` exported in the batch script
        (:func:`pipekit.grid.credentials.job_environment`). HTCondor and ARC override this.
        """
        config.env.update(grid.job_environment(credentials, plan.directory, write))

    def credential_lines(self) -> list[str]:
        """What ``--print-status`` and ``--dry-run`` say about the jobs' credentials."""
        kinds = self.credential_kinds()
        if not kinds:
            return ["credentials: none (credentials = none)"]
        creds, problem = self.last_credentials
        if problem is not None:
            return [f"credentials: the submission would stop: {problem}"]
        mode = "auto: what exists is forwarded" if kinds == ("auto",) else "required: " + ", ".join(kinds)
        if not creds:
            return [f"credentials: none found ({mode})"]
        return [f"credentials ({mode}): {c.describe()}" for c in creds]

    def status_credential_lines(self) -> list[str]:
        """:meth:`credential_lines` for the next submission (``--print-status``); never fatal."""
        try:
            plan = self.new_plan("print-status", [0])  # type: ignore[attr-defined]
            branches = {0: [next(iter(self.task.branch_map), 0)]}
            config = self.job_config(plan, branches)  # type: ignore[attr-defined]
            self.provide_credentials(plan, config, write=False)
            return self.credential_lines()
        except Exception as e:  # a broken config is shown, not fatal for --print-status
            return [f"credentials: cannot tell: {e}"]
