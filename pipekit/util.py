"""
``law.util`` for ported analyses: every public name of law 0.1.21's ``law.util``, re-exported
from the modules that define them (:mod:`pipekit.structure`, :mod:`pipekit.dicts`,
:mod:`pipekit.values`, :mod:`pipekit.terminal`, :mod:`pipekit.processes`, :mod:`pipekit.files`,
:mod:`pipekit.streams`, :mod:`pipekit.objects`, :mod:`pipekit.humanize`, :mod:`pipekit.ranges`,
:mod:`pipekit.brace`, :mod:`pipekit.paths`). New code may import from those modules directly;
nothing is implemented here.

Where law.util's defaults differ from pipekit's own helpers, the names here keep law's:
``map_struct`` leaves tuples and sets alone unless ``map_tuple`` / ``map_set`` is given, and
``human_duration(seconds=...)`` writes ``"1 hour, 2 minutes, 5 seconds"``.
"""

from __future__ import annotations

from typing import Any

from pipekit.brace import brace_expand
from pipekit.dicts import DotDict, InsertableDict, InsertiableDict, ShorthandDict, merge_dicts
from pipekit.files import (
    copy_no_perm,
    import_file,
    increment_path,
    is_file_exists_error,
    makedirs,
    open_compat,
    tmp_file,
    user_owns_file,
)
from pipekit.humanize import (
    byte_units,
    byte_units_lower,
    human_bytes,
    parse_bytes,
    parse_duration,
    time_unit_aliases,
    time_units,
)
from pipekit.humanize import describe_duration as human_duration
from pipekit.notify.mail import send_mail
from pipekit.objects import (
    ClassPropertyDescriptor,
    DeferredManager,
    MPManager,
    classproperty,
    common_task_params,
    console_lock,
    default_lock,
    empty_context,
    io_lock,
    is_classmethod,
    mp_manager,
    patch_object,
    perf_counter,
)
from pipekit.paths import law_home_path, law_src_path, pipekit_src_path, rel_path
from pipekit.processes import (
    get_subprocess_pids,
    interruptable_popen,
    kill_process,
    quote_cmd,
    readable_popen,
    send_signal_silent,
)
from pipekit.ranges import range_expand, range_join
from pipekit.shell import which
from pipekit.streams import BaseStream, FilteredStream, TeeStream
from pipekit.structure import (
    NoValue,
    chunk_slice_ranges,
    flatten,
    is_iterable,
    is_lazy_iterable,
    is_nested,
    iter_chunks,
    iter_leaves,
    join_generators,
    lazy_iter_types,
    make_list,
    make_set,
    make_tuple,
    make_unique,
    map_verbose,
    mask_struct,
    no_value,
    unzip,
)
from pipekit.structure import law_map_struct as map_struct
from pipekit.terminal import (
    abort,
    backgrounds,
    colored,
    colors,
    escape_markdown,
    get_terminal_width,
    print_err,
    query_choice,
    styles,
    uncolor_cre,
    uncolored,
)
from pipekit.values import (
    create_hash,
    create_random_string,
    flag_to_bool,
    is_float,
    is_number,
    is_pattern,
    multi_match,
    round_discrete,
    str_to_int,
    try_int,
)

__all__ = [
    # structures
    "no_value", "NoValue", "flatten", "iter_leaves", "map_struct", "mask_struct", "make_list",
    "make_tuple", "make_set", "make_unique", "is_iterable", "is_lazy_iterable", "lazy_iter_types",
    "is_nested", "unzip", "iter_chunks", "chunk_slice_ranges", "map_verbose", "join_generators",
    # dicts
    "DotDict", "ShorthandDict", "InsertableDict", "InsertiableDict", "merge_dicts",
    # values
    "is_number", "is_float", "try_int", "round_discrete", "str_to_int", "flag_to_bool",
    "is_pattern", "multi_match", "create_hash", "create_random_string",
    # sizes, durations, ranges, braces
    "human_bytes", "parse_bytes", "human_duration", "parse_duration", "byte_units",
    "byte_units_lower", "time_units", "time_unit_aliases", "range_expand", "range_join",
    "brace_expand",
    # terminal
    "colors", "backgrounds", "styles", "uncolor_cre", "colored", "uncolored", "query_choice",
    "get_terminal_width", "print_err", "abort", "escape_markdown",
    # processes
    "interruptable_popen", "readable_popen", "send_signal_silent", "get_subprocess_pids",
    "kill_process", "quote_cmd", "which", "law_run",  # noqa: F822 - module __getattr__
    # files and paths
    "tmp_file", "copy_no_perm", "makedirs", "user_owns_file", "increment_path",
    "is_file_exists_error", "open_compat", "import_file", "rel_path", "law_src_path",
    "pipekit_src_path", "law_home_path",
    # streams and objects
    "BaseStream", "TeeStream", "FilteredStream", "ClassPropertyDescriptor", "classproperty",
    "patch_object", "empty_context", "is_classmethod", "perf_counter", "default_lock", "io_lock",
    "console_lock", "MPManager", "DeferredManager", "mp_manager", "common_task_params",
    "send_mail",
]


def __getattr__(name: str) -> Any:
    # law_run lives with the command line; imported on first use so that pipekit.util stays light
    if name == "law_run":
        from pipekit.cli.run import law_run

        return law_run
    raise AttributeError(f"module 'pipekit.util' has no attribute '{name}'")
