"""
The one way pipekit runs external commands: :func:`run_command`.

Commands are argument lists (never strings pasted into a shell), run with a timeout, with
stdout/stderr captured, and a failure raises :class:`pipekit.errors.CommandError` that shows the
command line and the end of stderr. :func:`stream_command` is its sibling for long-running
commands whose output the user should watch live (a sandboxed task): output is forwarded line by
line and its last lines are kept for the error message. :func:`quote_args` builds a shell-safe
string for the rare places that must write a command into a script.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from typing import Mapping, Sequence

from pipekit.errors import CommandError

__all__ = ["run_command", "stream_command", "quote_args", "which"]


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


def stream_command(
    cmd: Sequence[str],
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
    timeout: float | None = None,
    stream=None,
    tail: int = 20,
) -> tuple[int, list[str]]:
    """
    Run *cmd* (a list) with stdout and stderr merged and forwarded line by line to *stream*
    (default ``sys.stdout``); returns ``(exit code, last *tail* lines)``. *env* is the complete
    environment (not merged). A missing executable or a timeout raises :class:`CommandError`;
    an interrupt terminates the command and is re-raised.
    """
    import collections
    import sys
    import threading

    if isinstance(cmd, str):
        raise TypeError("stream_command takes an argument list, not a string; see quote_args()")
    cmd = [str(c) for c in cmd]
    out = stream if stream is not None else sys.stdout
    last: collections.deque = collections.deque(maxlen=max(1, tail))
    try:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                                cwd=cwd, stdin=subprocess.DEVNULL, start_new_session=True)
    except FileNotFoundError:
        raise CommandError(cmd, None, "", reason=f"'{cmd[0]}' not found") from None
    timed_out = threading.Event()

    def _kill() -> None:
        timed_out.set()
        _terminate(proc)

    timer = threading.Timer(timeout, _kill) if timeout else None
    if timer:
        timer.daemon = True
        timer.start()
    try:
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = raw.decode(errors="replace")
            last.append(line.rstrip("\n"))
            out.write(line)
            out.flush()
        code = proc.wait()
    except BaseException:
        _terminate(proc)
        raise
    finally:
        if timer:
            timer.cancel()
    if timed_out.is_set():
        raise CommandError(cmd, None, "\n".join(last), reason=f"timed out after {timeout:g} s")
    return code, list(last)


def _terminate(proc: subprocess.Popen) -> None:
    """Stop *proc* and everything it started (its own session): TERM, then KILL after 5 s."""
    import signal

    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    except ProcessLookupError:
        pass
