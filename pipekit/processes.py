"""
law.util's process helpers for analyses that start commands themselves:
:func:`interruptable_popen` (run, capture, and on Ctrl-C end the command and its children),
:func:`readable_popen` (read output line by line as it comes), :func:`kill_process`,
:func:`get_subprocess_pids`, :func:`send_signal_silent` and :func:`quote_cmd`.

pipekit's own code runs commands through :mod:`pipekit.shell`; these exist so that code written
for law keeps its behaviour. Child processes are found through ``/proc`` (psutil when present).
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import time
from typing import Any, Callable, Iterator, Sequence

__all__ = [
    "interruptable_popen", "readable_popen", "send_signal_silent", "get_subprocess_pids",
    "kill_process", "quote_cmd",
]


def quote_cmd(cmd: Sequence[Any]) -> str:
    """
    A shell command line of the list *cmd*, each element quoted; a nested list becomes one
    quoted argument (``["bash", "-c", ["echo", "a b"]]`` -> ``bash -c 'echo '"'"'a b'"'"''``).
    """
    return " ".join(shlex.quote(quote_cmd(c) if isinstance(c, (list, tuple)) else str(c))
                    for c in cmd)


def send_signal_silent(pid: int, sig: int) -> bool:
    """Send *sig* to *pid*; True if the process existed, False otherwise."""
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def _children_from_proc() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                # the command name (2nd field) may contain spaces: split after its ")"
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    return children


def get_subprocess_pids(pid: int, recursive: bool = False, use_psutil: bool = True) -> list[int]:
    """The ids of *pid*'s child processes, with all descendants when *recursive*."""
    if not isinstance(pid, int):
        raise TypeError(f"get_subprocess_pids() needs an integer pid, got {pid!r}")
    if use_psutil:
        try:
            import psutil
        except ImportError:
            pass
        else:
            try:
                return [c.pid for c in psutil.Process(pid).children(recursive=recursive)]
            except psutil.NoSuchProcess:
                return []
    tree = _children_from_proc()
    pids: list[int] = []
    todo = list(tree.get(pid, []))
    while todo:
        child = todo.pop(0)
        pids.append(child)
        if recursive:
            todo[:0] = tree.get(child, [])
    return pids


def kill_process(p: subprocess.Popen, recursive: bool = True,
                 kill_timeout: float | None = None) -> None:
    """
    SIGTERM to process *p* (and its descendants when *recursive*); SIGKILL after *kill_timeout*
    seconds if it still runs.
    """
    def signal_all(sig: int) -> None:
        if p.poll() is not None:
            return
        pids = [p.pid] + (get_subprocess_pids(p.pid, recursive=True) if recursive else [])
        for pid in pids:
            send_signal_silent(pid, sig)

    signal_all(signal.SIGTERM)
    if kill_timeout is None:
        return
    deadline = time.monotonic() + kill_timeout
    while time.monotonic() < deadline:
        if p.poll() is not None:
            return
        time.sleep(0.05)
    signal_all(signal.SIGKILL)


def interruptable_popen(*args: Any, stdin_callback: Callable[[], Any] | None = None,
                        stdin_delay: float = 0, interrupt_callback: Callable | None = None,
                        kill_timeout: float | None = None, processes: list | None = None,
                        **kwargs: Any) -> tuple[int, str | None, str | None]:
    """
    ``Popen(*args, **kwargs)`` then ``communicate()``: returns ``(code, out, err)``, *out* and
    *err* decoded (None unless ``stdout``/``stderr=subprocess.PIPE``). stdin is /dev/null unless
    *stdin_callback* provides the input (after *stdin_delay* seconds). On ``KeyboardInterrupt``
    *interrupt_callback(p)* is called, the process and its children are ended (SIGKILL after
    *kill_timeout*) and the interrupt re-raised. The process is appended to *processes*.
    """
    kwargs.setdefault("stdin", subprocess.PIPE if callable(stdin_callback) else subprocess.DEVNULL)
    p = subprocess.Popen(*args, **kwargs)
    if processes is not None:
        processes.append(p)
    data = None
    if callable(stdin_callback):
        if stdin_delay > 0:
            time.sleep(stdin_delay)
        data = stdin_callback()
        if isinstance(data, str):
            data = (data + "\n").encode("utf-8")
    try:
        out, err = p.communicate(data)
    except KeyboardInterrupt:
        if callable(interrupt_callback):
            interrupt_callback(p)
        kill_process(p, kill_timeout=kill_timeout)
        raise
    if isinstance(out, bytes):
        out = out.decode("utf-8", "replace")
    if isinstance(err, bytes):
        err = err.decode("utf-8", "replace")
    return p.returncode, out, err


def readable_popen(*args: Any, **kwargs: Any) -> tuple[subprocess.Popen, Iterator[str]]:
    """
    ``Popen`` with stdout and stderr merged into a pipe, and a generator of its output lines
    (trailing whitespace stripped) as they arrive; the generator waits for the process at the
    end, so ``p.returncode`` is set once it is exhausted.
    """
    kwargs["stdout"] = subprocess.PIPE
    kwargs["stderr"] = subprocess.STDOUT
    p = subprocess.Popen(*args, **kwargs)

    def lines() -> Iterator[str]:
        for line in p.stdout:  # type: ignore[union-attr]
            yield line.decode("utf-8", "replace").rstrip() if isinstance(line, bytes) else line.rstrip()
        p.communicate()

    return p, lines()
