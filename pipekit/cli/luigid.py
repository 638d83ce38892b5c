"""
``pipekit luigid [ARGS ...]``: start luigi's central scheduler with law.cfg applied.

The arguments are luigid's own (``--port``, ``--address``, ``--state-path``, ``--logdir``,
``--background``, ``--pidfile``). The scheduler runs in this process after the configuration
was read, so ``[luigi_scheduler]`` options of law.cfg reach it as luigi's ``[scheduler]``.
"""

from __future__ import annotations

__all__ = ["execute"]


def execute(args: list[str], prog: str = "pipekit luigid") -> int:
    from pipekit.config import Config

    Config.instance()  # hands [luigi_*] sections to luigi's configuration
    from luigi.cmdline import luigid

    luigid(list(args))
    return 0
