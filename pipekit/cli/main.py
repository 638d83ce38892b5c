"""
``pipekit`` (also installed as ``law``): the command-line entry point.

Dispatches to one module per subcommand. Errors pipekit raises on purpose become one line on
stderr and an exit code (2 for usage errors, 1 for failures); a traceback is shown only with
``--debug`` or ``LAW_LOG_LEVEL=DEBUG``.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any, Sequence

__all__ = ["main", "run", "SUBCOMMANDS"]

#: subcommand -> (module, one-line help)
SUBCOMMANDS = {
    "run": ("pipekit.cli.run", "run a task: pipekit run TASK [--param value ...]"),
    "index": ("pipekit.cli.index", "write the index of task families used by run and completion"),
    "config": ("pipekit.cli.config", "print resolved configuration values"),
    "location": ("pipekit.cli.location", "print where pipekit, its config and index live"),
    "software": ("pipekit.cli.software", "copy pipekit and luigi to the software directory for jobs"),
    "luigid": ("pipekit.cli.luigid", "start luigi's central scheduler"),
    "quickstart": ("pipekit.cli.quickstart", "create a runnable example analysis in a directory"),
    "completion": ("pipekit.cli.completion", "print the bash completion script"),
    "graph": ("pipekit.cli.graph", "draw the dependency graph of a task to PNG/SVG"),
    "provenance": ("pipekit.cli.provenance", "print what made an output and whether it is outdated"),
    "report": ("pipekit.cli.report", "write the HTML run report (and trace) of a task's workflows"),
    "status": ("pipekit.cli.status", "live table of the analysis's workflows and their jobs"),
}


def _prog() -> str:
    name = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "pipekit"
    return name if name in ("law", "pipekit") else "pipekit"


def _usage() -> str:
    lines = [f"usage: {_prog()} [--version] [--debug] COMMAND [ARGS ...]", "", "commands:"]
    lines += [f"  {name:<11} {desc}" for name, (_, desc) in SUBCOMMANDS.items()]
    lines += ["", f"'{_prog()} COMMAND --help' shows the options of a command."]
    return "\n".join(lines)


def debug_enabled() -> bool:
    level = (os.getenv("LAW_LOG_LEVEL") or os.getenv("PIPEKIT_LOG_LEVEL") or "").upper()
    return level == "DEBUG" or os.getenv("PIPEKIT_DEBUG") == "1"


def main(argv: Sequence[str] | None = None, run_namespace: dict[str, Any] | None = None) -> int:
    """
    Run the command line with *argv* (default ``sys.argv[1:]``); returns the exit code.
    *run_namespace* (task name -> class) is searched first by ``run`` (``law_run()``, notebooks).
    """
    args = list(sys.argv[1:] if argv is None else argv)
    debug = debug_enabled()
    while args and args[0] in ("--debug", "--version", "-h", "--help"):
        flag = args.pop(0)
        if flag == "--debug":
            debug = True
            os.environ["PIPEKIT_DEBUG"] = "1"
        elif flag == "--version":
            from pipekit.__version__ import __version__

            print(f"pipekit {__version__}")
            return 0
        else:
            print(_usage())
            return 0
    if not args:
        print(_usage(), file=sys.stderr)
        return 2
    cmd = args.pop(0)
    if cmd not in SUBCOMMANDS:
        import difflib

        close = difflib.get_close_matches(cmd, SUBCOMMANDS, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else f"; commands: {', '.join(SUBCOMMANDS)}"
        print(f"{_prog()}: error: unknown command '{cmd}'{hint}", file=sys.stderr)
        return 2
    from pipekit.errors import PipekitError

    try:
        module = _load_subcommand(cmd)
        if run_namespace is not None and cmd == "run":
            return int(module.execute(args, prog=f"{_prog()} {cmd}", namespace=run_namespace) or 0)
        return int(module.execute(args, prog=f"{_prog()} {cmd}") or 0)
    except PipekitError as e:
        if debug:
            raise
        print(f"{_prog()}: error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print(f"\n{_prog()}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


def _load_subcommand(cmd: str) -> Any:
    from pipekit.errors import UsageError

    modname = SUBCOMMANDS[cmd][0]
    try:
        return importlib.import_module(modname)
    except ModuleNotFoundError as e:
        if e.name != modname:
            raise
        raise UsageError(f"'{_prog()} {cmd}' is not available in this version of pipekit") from None


def run(argv: Sequence[str] | None = None) -> int:
    """``pipekit.run(["TaskFamily", "--param", "value"])``: like ``pipekit run`` from Python."""
    return main(["run", *(argv or [])])


if __name__ == "__main__":
    sys.exit(main())
