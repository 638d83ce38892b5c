"""
``pipekit config [NAME] [--location] [--raw]``: print the resolved configuration.

Without NAME, every section with its options is printed as the configuration pipekit actually
uses (defaults, the discovered law.cfg with inherited and extended files, ``LAW__section__option``
overrides), values expanded. ``NAME`` is ``section`` (its options and values) or
``section.option`` (the bare value, for scripts: ``out=$(pipekit config core.software_dir)``).
A section or option that does not exist is an error (exit code 1).
"""

from __future__ import annotations

import argparse
from typing import Any

from pipekit.errors import PipekitError

__all__ = ["execute"]


def _format_value(value: Any) -> str:
    if value is None:
        return ""
    return str(value).replace("\n", "\n    ")


def _print_section(cfg: Any, section: str, raw: bool) -> None:
    print(f"[{section}]")
    for option, value in cfg.items(section, expand=not raw):
        text = _format_value(value)
        print(f"{option}: {text}" if text else option)


def _lookup(cfg: Any, name: str, raw: bool) -> str:
    section, _, option = name.partition(".")
    where = f"in {cfg.config_file}" if cfg.config_file else "(no law.cfg found, defaults only)"
    if not cfg.has_section(section):
        close = _close(section, cfg.sections())
        raise PipekitError(f"no section [{section}] in the configuration {where}{close}")
    if not cfg.has_option(section, option):
        close = _close(option, cfg.options(section))
        raise PipekitError(f"no option '{option}' in section [{section}] {where}{close}")
    value = (
        cfg.get_default(section, option, None) if raw else cfg.get_expanded(section, option, None)
    )
    return "" if value is None else str(value)


def _close(name: str, choices: list[str]) -> str:
    import difflib

    close = difflib.get_close_matches(name, choices, n=2)
    return f"; did you mean {' or '.join(close)}?" if close else ""


def execute(args: list[str], prog: str = "pipekit config") -> int:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Print the resolved configuration: all of it, one section, or one value.",
    )
    parser.add_argument("name", nargs="?", help="SECTION or SECTION.OPTION; default: everything")
    parser.add_argument(
        "--location",
        "-l",
        action="store_true",
        help="print the path of the config file in use and exit",
    )
    parser.add_argument(
        "--raw",
        "-r",
        action="store_true",
        help="print values as written, without $VAR and ~ expansion",
    )
    opts = parser.parse_args(args)

    from pipekit.config import Config

    cfg = Config.instance()
    if opts.location:
        if not cfg.config_file:
            raise PipekitError(
                "no config file in use: set $LAW_CONFIG_FILE, or create ./law.cfg, "
                "$LAW_HOME/config or ~/.law/config"
            )
        print(cfg.config_file)
        return 0
    if not opts.name:
        for i, section in enumerate(cfg.sections()):
            if i:
                print()
            _print_section(cfg, section, opts.raw)
        return 0
    if "." not in opts.name:
        if not cfg.has_section(opts.name):
            _lookup(cfg, opts.name + ".?", opts.raw)  # raises with the suggestion
        _print_section(cfg, opts.name, opts.raw)
        return 0
    print(_lookup(cfg, opts.name, opts.raw))
    return 0
