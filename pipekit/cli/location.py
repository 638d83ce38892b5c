"""
``pipekit location [WHAT]``: where pipekit, its configuration, the task index and the software
directory are.

Without WHAT, one labelled line per location. With WHAT (``package``, ``config``, ``index``,
``software``, ``home``), only that path, for scripts: ``cd "$(pipekit location package)"``.
"""

from __future__ import annotations

import argparse
import os

from pipekit.errors import PipekitError

__all__ = ["execute", "locations"]

WHAT = ("package", "config", "index", "software", "home")


def locations() -> dict[str, str | None]:
    """``{what: path}`` for every location; ``config`` is None when no law.cfg is found."""
    import pipekit
    from pipekit.cli.software import software_dir
    from pipekit.config import Config, law_home_path

    cfg = Config.instance()
    return {
        "package": os.path.dirname(os.path.abspath(pipekit.__file__)),
        "config": cfg.config_file,
        "index": cfg.index_file(),
        "software": software_dir(),
        "home": law_home_path(),
    }


def execute(args: list[str], prog: str = "pipekit location") -> int:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Print where pipekit, its config, the index and the software dir are.",
    )
    parser.add_argument("what", nargs="?", choices=WHAT, help="print only this location")
    opts = parser.parse_args(args)
    locs = locations()
    if opts.what:
        path = locs[opts.what]
        if path is None:
            raise PipekitError(
                "no config file in use: set $LAW_CONFIG_FILE, or create ./law.cfg, "
                "$LAW_HOME/config or ~/.law/config"
            )
        print(path)
        return 0
    for what, path in locs.items():
        print(f"{what:<9} {path if path else '(none found)'}")
    return 0
