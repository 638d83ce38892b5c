"""
Exceptions raised by pipekit.

Every error a user can cause has its own class here and a message that names the object, the
problem and the fix. The command line turns a :class:`PipekitError` into one line on stderr and
the exit code given by :attr:`PipekitError.exit_code` (2 for usage errors, 1 otherwise).
"""

from __future__ import annotations

__all__ = [
    "PipekitError",
    "UsageError",
    "ConfigError",
    "TaskNotFoundError",
    "ParameterError",
    "NotSupportedError",
    "MissingExtraError",
    "TargetError",
    "TargetExistsError",
    "TargetMissingError",
    "FormatterError",
    "CommandError",
    "BranchError",
    "WorkflowError",
    "SandboxError",
    "JobError",
    "RemoteError",
    "TransientRemoteError",
    "RemoteAuthError",
    "CredentialError",
]


class PipekitError(Exception):
    """Base class of all errors pipekit raises on purpose."""

    #: exit code the command line uses when this error ends a run
    exit_code = 1


class UsageError(PipekitError):
    """The command line or a call was used wrongly (unknown option, bad value, ...)."""

    exit_code = 2


class ConfigError(UsageError):
    """A configuration file is malformed or holds a value that cannot be used."""


class TaskNotFoundError(UsageError):
    """A task family or ``module.Class`` could not be resolved."""


class ParameterError(UsageError):
    """A parameter value could not be parsed or is not allowed."""


class NotSupportedError(UsageError, NotImplementedError):
    """A law name for a system pipekit deliberately does not drive (gLite WMS, CMS CRAB)."""


class MissingExtraError(PipekitError, ImportError):
    """An optional dependency is not installed; the message names the extra to install."""

    def __init__(self, module: str, extra: str, purpose: str = "", hint: str | None = None):
        what = f" for {purpose}" if purpose else ""
        how = hint or f"install it with: pip install 'pipekit[{extra}]'"
        super().__init__(f"the optional dependency '{module}' is needed{what} but not installed; {how}")
        self.module = module
        self.extra = extra


class TargetError(PipekitError):
    """A target operation failed."""


class TargetExistsError(TargetError, FileExistsError):
    """A target exists although the operation requires that it does not."""


class TargetMissingError(TargetError, FileNotFoundError):
    """A target does not exist although the operation requires it."""


class FormatterError(PipekitError):
    """No formatter could be found for a target, or a formatter failed."""


class CommandError(PipekitError):
    """An external command failed; the message shows the command and its stderr."""

    def __init__(self, cmd, returncode: int | None, stderr: str = "", reason: str = ""):
        import shlex

        self.cmd = cmd
        self.returncode = returncode
        self.stderr = stderr or ""
        cmd_str = cmd if isinstance(cmd, str) else " ".join(shlex.quote(str(c)) for c in cmd)
        msg = f"command failed ({reason or f'exit code {returncode}'}): {cmd_str}"
        tail = self.stderr.strip().splitlines()[-5:]
        if tail:
            msg += "\n  " + "\n  ".join(tail)
        super().__init__(msg)


class BranchError(UsageError):
    """A branch number or branch range does not exist in a workflow's branch map."""


class WorkflowError(PipekitError):
    """A workflow failed: too many branches failed, or a branch could not be run."""


class SandboxError(PipekitError):
    """A sandbox could not be set up or the sandboxed process failed."""


class JobError(PipekitError):
    """A batch job could not be submitted, queried or cancelled."""


class RemoteError(TargetError):
    """A remote storage operation failed permanently."""


class TransientRemoteError(RemoteError):
    """A remote storage operation failed in a way that may succeed when retried."""


class RemoteAuthError(RemoteError):
    """Remote storage refused the credential (none, expired, or not accepted); never retried."""


class CredentialError(PipekitError):
    """A grid credential (X.509 proxy, bearer token) is missing, unreadable, expired or too
    short-lived for the jobs; the message names the file, its lifetime and how to renew it."""
