"""
``law.util`` for ported analyses: the helpers analyses commonly call, re-exported from the
modules that define them (:mod:`pipekit.structure`, :mod:`pipekit.humanize`,
:mod:`pipekit.ranges`, :mod:`pipekit.brace`, :mod:`pipekit.paths`). New code may import from
those modules directly; nothing is defined here.
"""

from __future__ import annotations

from pipekit.brace import brace_expand
from pipekit.humanize import human_bytes, human_duration, parse_bytes, parse_duration
from pipekit.paths import law_home_path, law_src_path, pipekit_src_path, rel_path
from pipekit.ranges import range_expand, range_join
from pipekit.structure import (
    flatten,
    is_lazy_iterable,
    iter_leaves,
    make_list,
    make_tuple,
    map_struct,
    no_value,
)

__all__ = [
    "no_value",
    "flatten",
    "iter_leaves",
    "map_struct",
    "make_list",
    "make_tuple",
    "is_lazy_iterable",
    "human_bytes",
    "parse_bytes",
    "human_duration",
    "parse_duration",
    "range_expand",
    "range_join",
    "brace_expand",
    "rel_path",
    "law_src_path",
    "pipekit_src_path",
    "law_home_path",
]
