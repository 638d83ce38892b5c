"""
Dictionaries analyses build their configuration from, with law.util's names: attribute access
(:class:`DotDict`), attributes with defaults (:class:`ShorthandDict`), ordered insertion before
or after a key (:class:`InsertableDict`), and :func:`merge_dicts` (shallow or deep).
"""

from __future__ import annotations

import collections
import copy
from typing import Any

from pipekit.structure import no_value

__all__ = ["DotDict", "ShorthandDict", "InsertableDict", "InsertiableDict", "merge_dicts"]


class DotDict(collections.OrderedDict):
    """
    An ordered dict whose items are also attributes: ``d.foo`` is ``d["foo"]``; a missing one
    raises ``AttributeError``. :meth:`wrap` converts nested dicts too.
    """

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__") or attr.startswith("_OrderedDict"):
            raise AttributeError(attr)
        try:
            return self[attr]
        except KeyError:
            raise AttributeError(f"'{self.__class__.__name__}' object has no attribute '{attr}'") from None

    def __setattr__(self, attr: str, value: Any) -> None:
        self[attr] = value

    def copy(self) -> DotDict:
        """A shallow copy of the same class."""
        return self.__class__(self)

    @classmethod
    def wrap(cls, *args: Any, **kwargs: Any) -> DotDict:
        """A DotDict of ``dict(*args, **kwargs)`` with every nested dict a DotDict as well."""
        def wrap_value(value: Any) -> Any:
            if isinstance(value, dict):
                return cls((k, wrap_value(v)) for k, v in value.items())
            if isinstance(value, (list, tuple)):
                return value.__class__(wrap_value(v) for v in value)
            return value

        return wrap_value(dict(*args, **kwargs))


class ShorthandDict(collections.OrderedDict):
    """
    An ordered dict whose keys in the class attribute ``attributes`` (name -> default) are
    always present (defaults deep-copied) and readable and writable as attributes.
    """

    #: attribute names and their default values
    attributes: dict[str, Any] = {}

    def __init__(self, **kwargs: Any):
        super().__init__()
        for attr, default in self.attributes.items():
            self[attr] = kwargs.pop(attr, copy.deepcopy(default))
        self.update(kwargs)

    def copy(self) -> ShorthandDict:
        """A deep copy of the same class."""
        return self.__class__(**{k: copy.deepcopy(v) for k, v in self.items()})

    def __getattr__(self, attr: str) -> Any:
        if attr in type(self).attributes:
            return self[attr]
        raise AttributeError(f"'{self.__class__.__name__}' object has no attribute '{attr}'")

    def __setattr__(self, attr: str, value: Any) -> None:
        if attr in type(self).attributes:
            self[attr] = value
        else:
            super().__setattr__(attr, value)


class InsertableDict(collections.OrderedDict):
    """
    An ordered dict with :meth:`insert_before`, :meth:`insert_after`, :meth:`prepend` and
    :meth:`append`. Each takes one *key* and *value*, or several pairs as a dict or list of
    pairs in *key*; a key that is present moves to the new place.
    """

    def _insert(self, anchor: Any, key: Any, value: Any, offset: int) -> None:
        if isinstance(key, (list, dict)) and value is no_value:
            new_items = list(key.items()) if isinstance(key, dict) else list(key)
        else:
            new_items = [(key, value)]
        new_keys = {k for k, _ in new_items}
        if anchor is no_value or anchor not in self:
            for k, v in new_items:
                self.pop(k, None)
                self[k] = v
            return
        items = list(self.items())
        pos = [k for k, _ in items].index(anchor) + offset
        items = ([(k, v) for k, v in items[:pos] if k not in new_keys] + new_items
                 + [(k, v) for k, v in items[pos:] if k not in new_keys])
        self.clear()
        self.update(items)

    def insert_before(self, before_key: Any, key: Any, value: Any = no_value) -> None:
        """Insert before *before_key*; at the end when it is missing."""
        self._insert(before_key, key, value, 0)

    def insert_after(self, after_key: Any, key: Any, value: Any = no_value) -> None:
        """Insert after *after_key*; at the end when it is missing."""
        self._insert(after_key, key, value, 1)

    def prepend(self, key: Any, value: Any = no_value) -> None:
        """Insert at the beginning."""
        self._insert(next(iter(self), no_value), key, value, 0)

    def append(self, key: Any, value: Any = no_value) -> None:
        """Insert at the end."""
        self._insert(no_value, key, value, 0)


#: the spelling some analyses (columnflow) use in annotations
InsertiableDict = InsertableDict


def merge_dicts(*dicts: Any, inplace: bool = False, cls: type | None = None,
                deep: bool = False) -> dict:
    """
    One dict of *dicts* merged in order (later values win); non-dicts are skipped. A new dict
    of *cls* (default: the class of the first dict) unless *inplace*, which updates the first.
    *deep* merges nested dicts instead of replacing them.
    """
    if not dicts:
        raise ValueError("merge_dicts() needs at least one dict")
    if inplace:
        merged = dicts[0]
        rest = dicts[1:]
    else:
        if cls is None:
            first = next((d for d in dicts if isinstance(d, dict)), None)
            if first is None:
                raise TypeError("merge_dicts(): none of the objects is a dict; pass cls=")
            cls = first.__class__
        merged = cls()
        rest = dicts
    for d in rest:
        if not isinstance(d, dict):
            continue
        if not deep:
            merged.update(d)
            continue
        for k, v in d.items():
            if isinstance(v, dict) and isinstance(merged.get(k), dict):
                merge_dicts(merged[k], v, inplace=True, deep=True)
            else:
                # a copy, so merging into it later never changes the caller's dicts
                merged[k] = merge_dicts(v, deep=True) if isinstance(v, dict) else v
    return merged
