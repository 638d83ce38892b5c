"""
``pipekit luigid [ARGS ...]``: start luigi's central scheduler with law.cfg applied.

The arguments are luigid's own (``--port``, ``--address``, ``--state-path``, ``--logdir``,
``--background``, ``--pidfile``). The scheduler runs in this process after the configuration
was read, so ``[luigi_scheduler]`` options of law.cfg reach it as luigi's ``[scheduler]``. The
directories of ``--logdir``, ``--state-path`` and ``--pidfile`` are created when missing.
"""

from __future__ import annotations

import os

__all__ = ["execute"]

# luigid options naming a directory (True) or a file whose directory must exist (False)
_PATH_OPTIONS = {"--logdir": True, "--state-path": False, "--pidfile": False}


def _create_directories(args: list[str]) -> None:
    for i, arg in enumerate(args):
        name, has_eq, value = arg.partition("=")
        if name not in _PATH_OPTIONS:
            continue
        if not has_eq:
            value = args[i + 1] if i + 1 < len(args) else ""
        if value:
            path = os.path.abspath(os.path.expanduser(value))
            os.makedirs(path if _PATH_OPTIONS[name] else os.path.dirname(path), exist_ok=True)


def execute(args: list[str], prog: str = "pipekit luigid") -> int:
    from pipekit.config import Config

    Config.instance()  # hands [luigi_*] sections to luigi's configuration
    from luigi.cmdline import luigid

    _create_directories(args)
    luigid(list(args))
    return 0
