"""
The one way pipekit runs external commands: :func:`run_command`.

Commands are argument lists (never strings pasted into a shell), run with a timeout, with
stdout/stderr captured, and a failure raises :class:`pipekit.errors.CommandError` that shows the
command line and the end of stderr. :func:`quote_args` builds a shell-safe string for the rare
places that must write a command into a script.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from typing import Mapping, Sequence

from pipekit.errors import CommandError

__all__ = ["run_command", "quote_args", "which"]


def quote_args(args: Sequence[str]) -> str:
    """A shell command line that passes every element of *args* verbatim."""
    return " ".join(shlex.quote(str(a)) for a in args)


def which(name: str) -> str | None:
    """Full path of executable *name* on PATH, or None."""
    import shutil

    return shutil.which(name)


def run_command(
    cmd: Sequence[str],
    timeout: float | None = 60.0,
    check: bool = True,
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
    input: str | bytes | None = None,  # noqa: A002
    merge_env: bool = True,
    text: bool = True,
) -> subprocess.CompletedProcess:
    """
    Run *cmd* (a list) and return the completed process with captured output.

    *env* is merged into the current environment unless *merge_env* is False. With *check*, a
    non-zero exit raises :class:`CommandError`; a timeout always raises it.
    """
    if isinstance(cmd, str):
        raise TypeError("run_command takes an argument list, not a string; see quote_args()")
    cmd = [str(c) for c in cmd]
    full_env = None
    if env is not None:
        full_env = dict(os.environ) if merge_env else {}
        full_env.update({k: str(v) for k, v in env.items()})
    try:
        proc = subprocess.run(
            cmd,
            capture_output=True,
            timeout=timeout,
            env=full_env,
            cwd=cwd,
            input=input,
            text=text,
            check=False,
        )
    except subprocess.TimeoutExpired as e:
        stderr = e.stderr.decode(errors="replace") if isinstance(e.stderr, bytes) else (e.stderr or "")
        raise CommandError(cmd, None, stderr, reason=f"timed out after {timeout:g} s") from None
    except FileNotFoundError:
        raise CommandError(cmd, None, "", reason=f"'{cmd[0]}' not found on PATH") from None
    if check and proc.returncode != 0:
        stderr = proc.stderr if text else proc.stderr.decode(errors="replace")
        raise CommandError(cmd, proc.returncode, stderr)
    return proc
