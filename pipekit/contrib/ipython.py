"""
pipekit in IPython and Jupyter: the magics ``%law`` / ``%ilaw`` (aliases ``%pipekit`` /
``%ipipekit``) and a notebook-friendly :class:`Task`.

``%law run TimesTwo --n 5`` runs ``pipekit run TimesTwo --n 5`` as a subprocess (with the kernel's
Python) and streams its output into the cell. ``%ilaw run TimesTwo --n 5`` runs the same command
inside the kernel, so tasks defined in the notebook itself can be run, inspected
(``%ilaw run TimesTwo --n 5 --print-status 0``) and cleaned up (``--remove-output 0,a``).
``%ilaw graph TASK ...`` and ``--graph FILE`` show the picture in the notebook. Any
``pipekit`` command works after either magic (``index``, ``config``, ``graph``, ...).

A failing command ends the cell with a one-line error (the command's own output above it says
why); nothing crashes the kernel. Set ``PIPEKIT_DEBUG=1`` to get Python tracebacks instead.

Load with ``import pipekit.ipython; pipekit.ipython.register_magics()`` or, as in law,
``law.contrib.load("ipython")`` followed by ``law.ipython.register_magics()``.
"""

from __future__ import annotations

import html
import importlib
import logging
import shlex
import sys
from typing import Any, Sequence

import luigi.task_register

from pipekit.errors import PipekitError, UsageError
from pipekit.task.base import Task as _BaseTask

__all__ = ["Task", "MagicError", "register_magics", "create_magics", "auto_load"]

logger = logging.getLogger("pipekit.ipython")


class MagicError(Exception):
    """A magic command failed; IPython shows only this one line, not a traceback."""

    def _render_traceback_(self) -> list[str]:
        # IPython calls this instead of formatting the stack (the stack is ours, not the user's)
        return [f"pipekit: error: {self}"]


class Task(_BaseTask):
    """
    A task for notebooks. Defining a class again (re-running its cell) replaces the old
    definition everywhere pipekit and luigi look tasks up by name, and a task shows as
    ``Family(param=value)`` with the family highlighted when it is the value of a cell.
    """

    exclude_index = True

    def __init_subclass__(cls, **kwargs: Any):
        super().__init_subclass__(**kwargs)
        # luigi keeps every class it saw; two definitions of one name make it "ambiguous"
        registry = luigi.task_register.Register._reg
        stale = [
            c
            for c in registry
            if c.__module__ == cls.__module__ and c.__qualname__ == cls.__qualname__
        ]
        for c in stale:
            registry.remove(c)

    def _repr_html_(self) -> str:
        params = ", ".join(
            f"<span style='color: #1f5fa8'>{html.escape(k)}</span>={html.escape(v)}"
            for k, v in self._repr_params()
        )
        family = html.escape(self.get_task_family())
        return (
            f"<span style='font-family: monospace'><b style='color: #23803a'>{family}</b>"
            f"({params})</span>"
        )


# -- running commands -----------------------------------------------------------------------------


def _as_command(cmd: str | Sequence[str] | None) -> str | None:
    if not cmd:
        return None
    if isinstance(cmd, str):
        return cmd.strip()
    from pipekit.shell import quote_args

    return quote_args(list(cmd))


def _split(line: str, magic: str) -> list[str]:
    try:
        args = shlex.split(line)
    except ValueError as e:
        raise MagicError(f"cannot split the {magic} line: {e}") from None
    if not args:
        raise MagicError(f"{magic} needs a command, e.g. {magic} run TimesTwo --n 5")
    return args


def _debug() -> bool:
    from pipekit.cli.main import debug_enabled

    return debug_enabled()


def run_subprocess(line: str, line_cmd: str | None = None) -> None:
    """``%law``: run ``pipekit LINE`` in a subprocess (after *line_cmd* in bash), streaming output."""
    from pipekit.shell import stream_command

    args = _split(line, "%law")
    cmd = [sys.executable, "-m", "pipekit.cli.main", *args]
    if line_cmd:
        # the setup command runs in the same bash that then becomes pipekit ("$@" is cmd)
        cmd = ["bash", "-c", f'{line_cmd}\nexec "$@"', "bash", *cmd]
    try:
        code, _ = stream_command(cmd)
    except PipekitError as e:
        raise MagicError(str(e)) from None
    if code != 0:
        raise MagicError(f"'pipekit {line.strip()}' exited with code {code} (see its output above)")


def _retarget_log_handlers() -> None:
    """Point pipekit's log handlers at the current ``sys.stdout`` / ``sys.stderr``."""
    for name, stream in (
        ("pipekit", sys.stdout),
        ("luigi-interface", sys.stderr),
        ("luigi", sys.stderr),
    ):
        for handler in logging.getLogger(name).handlers:
            if getattr(handler, "_pipekit", False) and isinstance(handler, logging.StreamHandler):
                # the kernel (or a test) may have swapped the streams since the handler was made
                handler.acquire()
                try:
                    handler.stream = stream
                finally:
                    handler.release()


def _show_picture(path: str | None, shell: Any) -> None:
    if not path or getattr(shell, "kernel", None) is None:
        return  # a terminal shows pictures no better than the path already printed
    from IPython.display import SVG, Image, display

    if path.endswith(".png"):
        display(Image(filename=path))
    elif path.endswith(".svg"):
        display(SVG(filename=path))


def run_inline(line: str, shell: Any = None) -> None:
    """``%ilaw``: run ``pipekit LINE`` in this process; notebook task classes are found by name."""
    from pipekit.cli import graph as cli_graph
    from pipekit.cli.main import SUBCOMMANDS

    args = _split(line, "%ilaw")
    command, rest = args[0], args[1:]
    if command not in SUBCOMMANDS:
        raise MagicError(f"unknown command {command!r}; commands: {', '.join(SUBCOMMANDS)}")
    namespace = getattr(shell, "user_ns", None)
    _retarget_log_handlers()
    cli_graph.last_picture = None
    try:
        module = importlib.import_module(SUBCOMMANDS[command][0])
        prog = f"%ilaw {command}"
        if command in ("run", "graph"):
            code = module.execute(rest, prog=prog, namespace=namespace)
        else:
            code = module.execute(rest, prog=prog)
    except PipekitError as e:
        if _debug():
            raise
        raise MagicError(str(e)) from None
    except SystemExit as e:  # user code may call sys.exit(); the kernel must survive it
        code = e.code if isinstance(e.code, int) else 1
    finally:
        sys.stdout.flush()
    if code:
        raise MagicError(
            f"'%ilaw {line.strip()}' failed with exit code {code} (see the output above)"
        )
    _show_picture(cli_graph.last_picture, shell)


# -- registration ---------------------------------------------------------------------------------


def _level(value: str | int) -> int:
    if isinstance(value, int):
        return value
    level = logging.getLevelName(str(value).strip().upper())
    if not isinstance(level, int):
        raise UsageError(f"unknown log level {value!r}; use DEBUG, INFO, WARNING or ERROR")
    return level


def create_magics(
    init_cmd: str | Sequence[str] | None = None,
    line_cmd: str | Sequence[str] | None = None,
    log_level: str | int | None = None,
) -> type:
    """The IPython ``Magics`` class with ``%law``, ``%ilaw``, ``%pipekit`` and ``%ipipekit``."""
    from IPython.core.magic import Magics, line_magic, magics_class

    init = _as_command(init_cmd)
    per_line = _as_command(line_cmd)
    if log_level is not None:
        logger.setLevel(_level(log_level))

    @magics_class
    class PipekitMagics(Magics):
        """``%law`` / ``%pipekit`` run pipekit in a subprocess; ``%ilaw`` / ``%ipipekit`` in the kernel."""

        def __init__(self, shell: Any = None, **kwargs: Any):
            super().__init__(shell=shell, **kwargs)
            if init:
                logger.info("running the initialization command: %s", init)
                from pipekit.shell import stream_command

                code, _ = stream_command(["bash", "-c", init])
                if code != 0:
                    logger.error("the initialization command exited with code %d: %s", code, init)

        @line_magic
        def law(self, line: str) -> None:
            """Run ``pipekit LINE`` in a subprocess and stream its output."""
            run_subprocess(line, per_line)

        @line_magic
        def pipekit(self, line: str) -> None:
            """Same as ``%law``."""
            run_subprocess(line, per_line)

        @line_magic
        def ilaw(self, line: str) -> None:
            """Run ``pipekit LINE`` inside this kernel (tasks defined in the notebook work)."""
            run_inline(line, self.shell)

        @line_magic
        def ipipekit(self, line: str) -> None:
            """Same as ``%ilaw``."""
            run_inline(line, self.shell)

    return PipekitMagics


def register_magics(
    init_cmd: str | Sequence[str] | None = None,
    line_cmd: str | Sequence[str] | None = None,
    log_level: str | int | None = None,
    shell: Any = None,
) -> None:
    """
    Register ``%law``, ``%ilaw``, ``%pipekit`` and ``%ipipekit`` in the running IPython shell
    (or *shell*). *init_cmd* (a bash command) runs once now; *line_cmd* (a bash command, e.g.
    ``source setup.sh``) runs before every ``%law`` in the same shell; *log_level* is the level of
    the magics' own messages. Without an IPython shell, nothing is registered and an error is
    logged (as in law).
    """
    if shell is None:
        try:
            from IPython import get_ipython
        except ImportError:
            logger.error("IPython is not installed: pip install 'pipekit[jupyter]'")
            return
        shell = get_ipython()
    if shell is None:
        logger.error("no running IPython shell or Jupyter kernel; no magics registered")
        return
    from pipekit.cli.execution import setup_logging

    setup_logging()  # task loggers and pipekit's messages print cleanly into cells from now on
    shell.register_magics(create_magics(init_cmd=init_cmd, line_cmd=line_cmd, log_level=log_level))
    logger.info("registered the magics %law, %ilaw, %pipekit and %ipipekit")


def auto_load() -> None:
    """Called by ``law.contrib.load("ipython")``: register the magics when in IPython."""
    if "IPython" in sys.modules:
        from IPython import get_ipython

        if get_ipython() is not None:
            register_magics()
