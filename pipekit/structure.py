"""
Helpers for the nested structures tasks use for requirements and outputs (a target, a list, a
tuple or a dict of them, nested): flatten them, map over their leaves, wrap single values.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator

__all__ = ["flatten", "iter_leaves", "map_struct", "make_list", "make_tuple", "no_value", "is_lazy_iterable"]


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


def is_lazy_iterable(obj: Any) -> bool:
    """True for generators, map/filter objects, dict views and other non-sequence iterables."""
    import types

    return isinstance(obj, (types.GeneratorType, map, filter, range, type({}.keys()), type({}.values())))


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


def flatten(*structs: Any) -> list[Any]:
    """All leaves of the given structures as one flat list."""
    out: list[Any] = []
    for s in structs:
        out.extend(iter_leaves(s))
    return out


def map_struct(func: Callable[[Any], Any], struct: Any) -> Any:
    """Apply *func* to every leaf, keeping the shape (dicts stay dicts, tuples stay tuples)."""
    if isinstance(struct, dict):
        return {k: map_struct(func, v) for k, v in struct.items()}
    if isinstance(struct, list):
        return [map_struct(func, v) for v in struct]
    if isinstance(struct, tuple):
        return tuple(map_struct(func, v) for v in struct)
    if isinstance(struct, set):
        return {map_struct(func, v) for v in struct}
    return func(struct)


def make_list(obj: Any) -> list[Any]:
    """*obj* as a list: lists are copied, tuples/sets/iterables converted, anything else wrapped."""
    if isinstance(obj, list):
        return list(obj)
    if isinstance(obj, (tuple, set)) or is_lazy_iterable(obj):
        return list(obj)
    return [obj]


def make_tuple(obj: Any) -> tuple:
    """*obj* as a tuple (see :func:`make_list`)."""
    return tuple(make_list(obj))
