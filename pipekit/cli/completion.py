"""
``pipekit completion``: print the path of the bash completion script, so that
``source "$(pipekit completion)"`` enables completion of subcommands, task families and their
``--parameters`` for ``pipekit`` and ``law`` (see ``completion.sh`` for how the index is found).
"""

from __future__ import annotations

import argparse
import os

__all__ = ["execute", "script_path"]


def script_path() -> str:
    """Absolute path of ``completion.sh``."""
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "completion.sh")


def execute(args: list[str], prog: str = "pipekit completion") -> int:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Print the path of the bash completion script; use it with "
        f'source "$({prog})".',
    )
    parser.parse_args(args)
    print(script_path())
    return 0
