"""
Small checks and conversions of single values, with law.util's names: numbers and flags
(:func:`is_number`, :func:`try_int`, :func:`flag_to_bool`, :func:`str_to_int`), name patterns
(:func:`is_pattern`, :func:`multi_match`) and short hashes (:func:`create_hash`).
"""

from __future__ import annotations

import fnmatch
import hashlib
import math
import re
import uuid
from typing import Any, Callable, Iterable

from pipekit.structure import make_list

__all__ = [
    "is_number", "is_float", "try_int", "round_discrete", "str_to_int", "flag_to_bool",
    "is_pattern", "multi_match", "create_hash", "create_random_string",
]


def is_number(n: Any) -> bool:
    """True for ints and floats (and other numbers), False for booleans."""
    import numbers

    return isinstance(n, numbers.Number) and not isinstance(n, bool)


def is_float(v: Any) -> bool:
    """True when ``float(v)`` works."""
    try:
        float(v)
    except (TypeError, ValueError):
        return False
    return True


def try_int(n: Any) -> Any:
    """*n* as an int when that keeps its value (``2.0`` -> ``2``), else *n*."""
    as_int = int(n)
    return as_int if as_int == n else n


def round_discrete(n: float, base: float = 1.0, round_fn: Callable | str = round) -> float:
    """*n* rounded to a multiple of *base*; *round_fn* is a function or round/floor/ceil."""
    if isinstance(round_fn, str):
        fns = {"round": round, "floor": math.floor, "ceil": math.ceil}
        if round_fn not in fns:
            raise ValueError(f"round_discrete(): unknown round_fn '{round_fn}', use one of "
                             f"{', '.join(fns)}")
        round_fn = fns[round_fn]
    return base * round_fn(float(n) / base)


def str_to_int(s: Any) -> int:
    """An int from decimal text or ``0b``/``0o``/``0d``/``0x`` prefixed text (``"0o660"``)."""
    text = str(s).strip().lower()
    m = re.match(r"^0([bodx])[0-9a-f]+$", text)
    if m is None:
        return int(text, 10)
    base = {"b": 2, "o": 8, "d": 10, "x": 16}[m.group(1)]
    return int(text[2:], base)


_TRUE = ("true", "1", "yes", "y", "on")
_FALSE = ("false", "0", "no", "n", "off")


def flag_to_bool(s: Any, silent: bool = False) -> bool | None:
    """
    True/False for a boolean or a flag string (true/1/yes/y/on, false/0/no/n/off, any case).
    Anything else raises ``ValueError``, or gives None when *silent*.
    """
    if isinstance(s, bool):
        return s
    if isinstance(s, str):
        if s.lower() in _TRUE:
            return True
        if s.lower() in _FALSE:
            return False
    if silent:
        return None
    raise ValueError(f"cannot read {s!r} as a flag; use one of {', '.join(_TRUE + _FALSE)}")


def is_pattern(s: str) -> bool:
    """True when *s* holds a shell wildcard (``*`` or ``?``)."""
    return "*" in s or "?" in s


def multi_match(name: str, patterns: Any, mode: Callable[[Iterable[bool]], bool] = any,
                regex: bool | None = None, skip_negation: bool = False) -> bool:
    """
    Whether *name* matches *patterns* (one or several): ``mode=any`` (default) or ``all``.
    Patterns are shell patterns, regular expressions with *regex*, and, when *regex* is None,
    regular expressions only when written ``^...$``. A leading ``!`` negates a pattern unless
    *skip_negation*.
    """
    def matches(pattern: str) -> bool:
        use_re = regex if regex is not None else (pattern.startswith("^") and pattern.endswith("$"))
        return bool(re.match(pattern, name)) if use_re else fnmatch.fnmatch(name, pattern)

    def check(pattern: str) -> bool:
        if not skip_negation and pattern.startswith("!"):
            return not matches(pattern[1:])
        return matches(pattern)

    return mode(check(p) for p in make_list(patterns))


def create_hash(inp: Any, l: int = 10, algo: str = "sha256", to_int: bool = False) -> Any:  # noqa: E741
    """The first *l* hex digits of the *algo* hash of ``str(inp)``, or their int value."""
    digest = hashlib.new(algo, str(inp).encode("utf-8")).hexdigest()[:l]
    return int(digest, 16) if to_int else digest


def create_random_string(prefix: str = "", l: int = 10) -> str:  # noqa: E741
    """*l* random hex characters, as ``prefix_<chars>`` when *prefix* is given."""
    chars = uuid.uuid4().hex[:l]
    return f"{prefix}_{chars}" if prefix else chars
