"""
Helpers for the nested structures tasks use for requirements and outputs (a target, a list, a
tuple or a dict of them, nested): flatten them, map over their leaves, mask them, wrap single
values; and for sequences: chunk them, make them unique, unzip them. The names and keyword
arguments are law.util's.
"""

from __future__ import annotations

import types
from typing import Any, Callable, Iterable, Iterator, Sequence

__all__ = [
    "flatten", "iter_leaves", "map_struct", "law_map_struct", "mask_struct", "make_list", "make_tuple", "make_set",
    "make_unique", "no_value", "NoValue", "is_lazy_iterable", "lazy_iter_types", "is_iterable",
    "is_nested", "unzip", "iter_chunks", "chunk_slice_ranges", "map_verbose", "join_generators",
]


class _NoValue:
    """Marker for 'no value given' where None is a valid value."""

    _inst = None

    def __new__(cls):
        if cls._inst is None:
            cls._inst = super().__new__(cls)
        return cls._inst

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "no_value"


no_value = _NoValue()
#: law's name of the class of :data:`no_value`
NoValue = _NoValue

#: the types :func:`is_lazy_iterable` accepts
lazy_iter_types = (types.GeneratorType, map, filter, range, zip, enumerate, type({}.keys()),
                   type({}.values()), type({}.items()))


def is_lazy_iterable(obj: Any) -> bool:
    """True for generators, map/filter objects, dict views and other non-sequence iterables."""
    return isinstance(obj, lazy_iter_types)


def is_iterable(obj: Any) -> bool:
    """True when ``iter(obj)`` works."""
    try:
        iter(obj)
    except TypeError:
        return False
    return True


def is_nested(obj: Any) -> bool:
    """True for a list or tuple whose items are all lists or tuples."""
    return isinstance(obj, (list, tuple)) and all(isinstance(i, (list, tuple)) for i in obj)


def iter_leaves(struct: Any) -> Iterator[Any]:
    """Yield the leaves of a nested structure of dicts, lists, tuples and sets, depth first."""
    if isinstance(struct, dict):
        for v in struct.values():
            yield from iter_leaves(v)
    elif isinstance(struct, (list, tuple, set)) or is_lazy_iterable(struct):
        for v in struct:
            yield from iter_leaves(v)
    else:
        # objects that present themselves as a structure (e.g. target collections) are leaves here
        yield struct


def flatten(*structs: Any, flatten_dict: bool = True, flatten_list: bool = True,
            flatten_tuple: bool = True, flatten_set: bool = True) -> list[Any]:
    """
    All leaves of the given structures as one flat list; a ``flatten_<type>=False`` keeps
    containers of that type as leaves.
    """
    if flatten_dict and flatten_list and flatten_tuple and flatten_set:
        out: list[Any] = []
        for s in structs:
            out.extend(iter_leaves(s))
        return out
    keep = tuple(t for t, f in ((dict, flatten_dict), (list, flatten_list),
                                (tuple, flatten_tuple), (set, flatten_set)) if not f)
    opts = dict(flatten_dict=flatten_dict, flatten_list=flatten_list,
                flatten_tuple=flatten_tuple, flatten_set=flatten_set)
    out = []
    for s in structs:
        if isinstance(s, keep):
            out.append(s)
        elif isinstance(s, dict):
            out.extend(flatten(*s.values(), **opts))
        elif isinstance(s, (list, tuple, set)) or is_lazy_iterable(s):
            out.extend(flatten(*s, **opts))
        else:
            out.append(s)
    return out


def _descend(option: Any) -> Any:
    # law: a number as map_<type> option is a depth that shrinks by one per level
    return option - 1 if isinstance(option, int) and not isinstance(option, bool) else option


def map_struct(func: Callable[[Any], Any], struct: Any, map_dict: Any = True,
               map_list: Any = True, map_tuple: Any = True, map_set: Any = True,
               cls: type | tuple | None = None, custom_mappings: dict | None = None) -> Any:
    """
    Apply *func* to every leaf, keeping the shape (dicts stay dicts, tuples stay tuples).
    ``map_<type>=False`` treats containers of that type as leaves (a number is a depth); with
    *cls*, only *struct* itself is mapped, when it is an instance of *cls*; *custom_mappings*
    maps types to ``fn(func, struct, **options)`` for containers of other types. (law.util's
    map_struct has ``map_tuple=False`` and ``map_set=False`` by default; ``pipekit.util`` keeps
    those defaults.)
    """
    if is_lazy_iterable(struct):
        struct = list(struct)
    if cls is not None:
        return func(struct) if isinstance(struct, cls) else struct
    opts = dict(map_dict=_descend(map_dict), map_list=_descend(map_list),
                map_tuple=_descend(map_tuple), map_set=_descend(map_set),
                custom_mappings=custom_mappings)
    if custom_mappings:
        for mapped_types, mapping in custom_mappings.items():
            if isinstance(struct, mapped_types):
                return mapping(func, struct, **opts)
    if isinstance(struct, dict) and map_dict:
        mapped = struct.__class__()
        for k, v in struct.items():
            mapped[k] = map_struct(func, v, **opts)
        return mapped
    if isinstance(struct, list) and map_list:
        return struct.__class__(map_struct(func, v, **opts) for v in struct)
    if isinstance(struct, tuple) and map_tuple:
        values = [map_struct(func, v, **opts) for v in struct]
        return struct.__class__(*values) if hasattr(struct, "_fields") else struct.__class__(values)
    if isinstance(struct, set) and map_set:
        return struct.__class__(map_struct(func, v, **opts) for v in struct)
    return func(struct)


def law_map_struct(func: Callable[[Any], Any], struct: Any, map_dict: Any = True,
                   map_list: Any = True, map_tuple: Any = False, map_set: Any = False,
                   cls: type | tuple | None = None, custom_mappings: dict | None = None) -> Any:
    """:func:`map_struct` with law.util's defaults: tuples and sets are leaves unless asked for."""
    return map_struct(func, struct, map_dict=map_dict, map_list=map_list, map_tuple=map_tuple,
                      map_set=map_set, cls=cls, custom_mappings=custom_mappings)


def mask_struct(mask: Any, struct: Any, replace: Any = no_value, keep_missing: bool = True,
                convert_types: dict | None = None) -> Any:
    """
    What remains of *struct* under *mask*, a structure of booleans of the same shape: a False
    removes the value there (or puts *replace*), items the mask does not mention are kept
    unless *keep_missing* is False. *convert_types* maps types to converters applied first.
    """
    if is_lazy_iterable(struct):
        struct = list(struct)
    for conv_types, convert in (convert_types or {}).items():
        if isinstance(struct, conv_types):
            struct = convert(struct)
            break
    if isinstance(mask, bool) or not isinstance(struct, (list, tuple, dict)):
        return struct if mask else replace

    def sub(m: Any, value: Any, repl: Any) -> Any:
        return mask_struct(m, value, replace=repl, keep_missing=keep_missing,
                           convert_types=convert_types)

    if isinstance(struct, (list, tuple)) and isinstance(mask, (list, tuple)):
        kept = []
        for i, value in enumerate(struct):
            if i >= len(mask):
                if keep_missing:
                    kept.append(value)
                continue
            repl = replace[i] if isinstance(replace, (list, tuple)) and i < len(replace) else replace
            value = sub(mask[i], value, repl)
            if value is not no_value:
                kept.append(value)
        return struct.__class__(kept) if kept else replace
    if isinstance(struct, dict) and isinstance(mask, dict):
        kept_dict = struct.__class__()
        for key, value in struct.items():
            if key not in mask:
                if keep_missing:
                    kept_dict[key] = value
                continue
            repl = replace.get(key, replace) if isinstance(replace, dict) else replace
            value = sub(mask[key], value, repl)
            if value is not no_value:
                kept_dict[key] = value
        return kept_dict or replace
    raise TypeError(f"mask_struct(): mask and struct must have the same shape, got "
                    f"{type(mask).__name__} and {type(struct).__name__}")


def _make(obj: Any, kind: type, cast: bool) -> Any:
    if isinstance(obj, kind):
        return kind(obj)
    if cast and (isinstance(obj, (list, tuple, set)) or is_lazy_iterable(obj)):
        return kind(obj)
    return kind([obj])


def make_list(obj: Any, cast: bool = True) -> list[Any]:
    """
    *obj* as a list: lists are copied, tuples/sets/iterables converted (unless *cast* is
    False), anything else wrapped.
    """
    return _make(obj, list, cast)


def make_tuple(obj: Any, cast: bool = True) -> tuple:
    """*obj* as a tuple (see :func:`make_list`)."""
    return _make(obj, tuple, cast)


def make_set(obj: Any, cast: bool = True) -> set:
    """*obj* as a set (see :func:`make_list`)."""
    return _make(obj, set, cast)


def make_unique(obj: Any) -> Any:
    """*obj* without repeated items, first occurrences kept in order; a tuple stays a tuple."""
    if not isinstance(obj, (list, tuple)):
        if not is_iterable(obj):
            raise TypeError(f"make_unique() needs a list, tuple or iterable, got {obj!r}")
        obj = list(obj)
    seen: list[Any] = []
    for item in obj:
        if item not in seen:
            seen.append(item)
    return tuple(seen) if isinstance(obj, tuple) else seen


def unzip(struct: Iterable[Sequence], fill_none: bool = False) -> tuple[list, ...] | None:
    """
    The inverse of ``zip``: the first items, the second items, ... as lists; as many lists as
    the first sequence has items. A shorter sequence raises ``ValueError`` unless *fill_none*.
    """
    lists: tuple[list, ...] | None = None
    for i, seq in enumerate(struct):
        if lists is None:
            lists = tuple([] for _ in range(len(seq)))
        for j, out in enumerate(lists):
            if j < len(seq):
                out.append(seq[j])
            elif fill_none:
                out.append(None)
            else:
                raise ValueError(f"unzip(): sequence {i} has {len(seq)} items, {len(lists)} needed")
    return lists


def iter_chunks(seq: Any, size: int) -> Iterator[Any]:
    """
    Chunks of *size* items of a sequence, an iterable or ``range(seq)`` for an int; slices for
    sequences, lists for iterables and ranges. A *size* below 1 gives everything as one chunk.
    """
    if isinstance(seq, int):
        seq = range(seq)
    if is_lazy_iterable(seq):
        chunk: list[Any] = []
        for item in seq:
            chunk.append(item)
            if 0 < size == len(chunk):
                yield chunk
                chunk = []
        if chunk or size < 1:
            yield chunk
        return
    if size < 1:
        yield seq
        return
    for start in range(0, len(seq), size):
        yield seq[start:start + size]


def chunk_slice_ranges(sizes: Sequence[Any], start: int | None,
                       stop: int | None) -> list[tuple[int, int] | None]:
    """
    For chunks of the given *sizes* (numbers or sized objects) laid end to end, the
    ``(start, stop)`` slice of each chunk that the overall ``[start:stop]`` covers, None for
    chunks outside it. *stop* may be negative, as in slices.
    """
    sizes = [s if isinstance(s, int) else len(s) for s in sizes]
    total = sum(sizes)
    start = 0 if start is None else start
    stop = total if stop is None else (stop + total if stop < 0 else stop)
    if not 0 <= start <= stop <= total:
        raise ValueError(f"chunk_slice_ranges(): start {start} and stop {stop} do not fit into "
                         f"a total size of {total}")
    ranges: list[tuple[int, int] | None] = [None] * len(sizes)
    for i, size in enumerate(sizes):
        if start >= size:
            start, stop = start - size, stop - size
        elif stop > size:
            ranges[i] = (start, size)
            start, stop = 0, stop - size
        else:
            ranges[i] = (start, stop)
            break
    return ranges


def map_verbose(func: Callable[[Any], Any], seq: Iterable[Any], msg: str = "{}", every: int = 25,
                start: bool = True, end: bool = True, offset: int = 0,
                callback: Callable[[int], Any] | None = None) -> list[Any]:
    """
    ``list(map(func, seq))`` that reports progress: *callback(i)* (default: print
    ``msg.format(i + offset)``) after the first item (*start*), every *every* items and after
    the last (*end*).
    """
    if not callable(callback):
        def callback(i: int) -> None:
            print(msg.format(i + offset))
    results = []
    reported = False
    for i, item in enumerate(seq):
        results.append(func(item))
        reported = (start and i == 0) or (i + 1) % every == 0
        if reported:
            callback(i)
    if end and results and not reported:
        callback(len(results) - 1)
    return results


def join_generators(*generators: Iterator[Any],
                    on_error: Callable[[BaseException], bool] | None = None) -> Iterator[Any]:
    """
    One generator running *generators* one after another; values sent in are passed on to the
    generator that yielded. When *on_error* returns true for an exception, iteration goes on.
    """
    for gen in generators:
        sent: Any = no_value
        while True:
            try:
                sent = yield (next(gen) if sent is no_value else gen.send(sent))
            except StopIteration:
                break
            except (Exception, KeyboardInterrupt) as error:
                if callable(on_error) and on_error(error):
                    sent = no_value
                else:
                    raise
