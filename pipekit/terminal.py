"""
Text for people at a terminal: ANSI colours (:func:`colored`, :func:`uncolored`), a choice
prompt (:func:`query_choice`), the terminal width, and messages to stderr (:func:`print_err`,
:func:`abort`). The names and arguments are law.util's, so ported analyses call them unchanged.

Colours are applied only when stdout is a terminal or a notebook's output stream (as in law), so
a log file or a pipe gets plain text; ``force=True`` colours regardless.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import sys
from typing import Any, Sequence

__all__ = [
    "colors", "backgrounds", "styles", "uncolor_cre", "colored", "uncolored", "query_choice",
    "get_terminal_width", "print_err", "abort", "escape_markdown", "stdout_is_colorable",
]

#: ANSI SGR foreground codes by name
colors = {
    "default": 39, "black": 30, "red": 31, "green": 32, "yellow": 33, "blue": 34,
    "magenta": 35, "cyan": 36, "light_gray": 37, "dark_gray": 90, "light_red": 91,
    "light_green": 92, "light_yellow": 93, "light_blue": 94, "light_magenta": 95,
    "light_cyan": 96, "white": 97,
}
#: ANSI SGR background codes: the foreground code plus 10
backgrounds = {name: code + 10 for name, code in colors.items()}
#: ANSI SGR text styles by name
styles = {"default": 0, "bright": 1, "dim": 2, "underlined": 4, "blink": 5, "inverted": 7,
          "hidden": 8}
#: matches one ANSI escape sequence
uncolor_cre = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")


def stdout_is_colorable() -> bool:
    """True when stdout is a terminal or a Jupyter kernel's output stream."""
    try:
        if os.isatty(sys.stdout.fileno()):
            return True
    except (AttributeError, OSError, ValueError):
        pass
    # a notebook's stdout has no file descriptor but renders colours
    return type(sys.stdout).__module__.startswith("ipykernel")


def _code(table: dict[str, int], name: Any) -> int:
    if name == "random":
        return random.choice(list(table.values()))
    return table.get(name, table["default"])


def colored(msg: Any, color: str | None = None, background: str | None = None,
            style: str | Sequence[str] | None = None, force: bool = False) -> str:
    """
    *msg* wrapped in ANSI codes for *color*, *background* and *style* (one name or several;
    ``"random"`` picks one). Unknown names fall back to the default. Returned unchanged unless
    stdout can show colours or *force* is true.
    """
    if not force and not stdout_is_colorable():
        return msg
    style_names = style if isinstance(style, (list, tuple, set)) else (style,)
    style_codes = ";".join(str(_code(styles, s)) for s in style_names)
    return f"\033[{style_codes};{_code(backgrounds, background)};{_code(colors, color)}m{msg}\033[0m"


def uncolored(s: str) -> str:
    """*s* without any ANSI escape sequences."""
    return uncolor_cre.sub("", s)


def query_choice(msg: str, choices: Sequence[Any], default: Any = None,
                 descriptions: Sequence[str] | None = None, lower: bool = True) -> str:
    """
    Ask *msg* on the prompt until the answer is one of *choices* (compared in lower case when
    *lower*); an empty answer means *default*. *descriptions*, one per choice, are shown beside
    them. Returns the choice.
    """
    choices = [str(c) for c in choices]
    if default is not None and str(default) not in choices:
        raise ValueError(f"query_choice(): default {default!r} is not one of {choices}")
    if descriptions is not None and len(descriptions) != len(choices):
        raise ValueError("query_choice(): give one description per choice")
    hints = [c + "*" if c == str(default) else c for c in choices]
    if descriptions is not None:
        hints = [f"{h}({d})" for h, d in zip(hints, descriptions)]
    wanted = [c.lower() for c in choices] if lower else choices
    prompt = f"{msg} [{', '.join(hints)}] "
    while True:
        answer = input(prompt)
        if answer == "" and default is not None:
            answer = str(default)
        if lower:
            answer = answer.lower()
        if answer in wanted:
            return answer
        print(f"invalid choice: '{answer}'")


def get_terminal_width(fallback: bool = False) -> int | None:
    """
    Columns of the terminal stdout is attached to, or None. With *fallback*, ``$COLUMNS`` or 80
    when there is no terminal.
    """
    if fallback:
        return shutil.get_terminal_size().columns
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns
    except (AttributeError, OSError, ValueError):
        return None


def print_err(*args: Any, flush: bool = False, **kwargs: Any) -> None:
    """``print`` to stderr."""
    kwargs["file"] = sys.stderr
    print(*args, **kwargs)
    if flush:
        sys.stderr.flush()


def abort(msg: str | None = None, exitcode: int | None = 1, color: bool = True) -> None:
    """
    End the process with *exitcode*, printing *msg* first: to stdout for 0/None, else to
    stderr, in red when *color*.
    """
    if msg is not None:
        if exitcode in (0, None):
            print(msg)
        else:
            print_err(colored(msg, "red") if color else msg)
    sys.exit(exitcode)


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|>~])")


def escape_markdown(s: str) -> str:
    """*s* with every character that markdown would read as formatting escaped by a backslash."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", s)
