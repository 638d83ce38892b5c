"""
Parameters beyond luigi's: empty-value markers, CSV and multi-CSV lists, integer ranges,
durations, byte sizes, optional booleans, task instances and notification switches.

All of them are luigi parameters, so they appear as command-line options and in task ids as
luigi users expect. Parsed values are immutable (tuples) because luigi caches task instances by
parameter values.
"""

from __future__ import annotations

from typing import Any, Callable

import luigi

from pipekit.humanize import human_bytes, human_duration, parse_bytes, parse_duration, time_unit
from pipekit.structure import is_lazy_iterable, make_tuple, no_value

__all__ = [
    "NO_STR",
    "NO_INT",
    "NO_FLOAT",
    "is_no_param",
    "get_param",
    "Parameter",
    "TaskInstanceParameter",
    "OptionalBoolParameter",
    "BoundedIntParameter",
    "DurationParameter",
    "BytesParameter",
    "CSVParameter",
    "MultiCSVParameter",
    "RangeParameter",
    "MultiRangeParameter",
    "NotifyParameter",
    "NotifyMultiParameter",
    "NotifyMailParameter",
    "NotifyCustomParameter",
]

#: string value meaning "parameter not set"
NO_STR = "NO_STR"
#: integer value meaning "parameter not set"
NO_INT = -1
#: float value meaning "parameter not set"
NO_FLOAT = -1.0

_EMPTY = (None, "", NO_STR, no_value)


def is_no_param(value: Any) -> bool:
    """True when *value* is one of the empty markers :data:`NO_STR`, :data:`NO_INT`, :data:`NO_FLOAT`."""
    if value is no_value:
        return True
    if isinstance(value, bool):
        return False
    return value in (NO_STR, NO_INT, NO_FLOAT)


def get_param(value: Any, default: Any = None) -> Any:
    """*value*, or *default* when *value* is an empty marker (see :func:`is_no_param`)."""
    return default if is_no_param(value) else value


class Parameter(luigi.Parameter):
    """
    luigi's Parameter with *parse_empty*: when True, an empty command-line string is passed to
    :meth:`parse` instead of falling back to the default.
    """

    def __init__(self, *args: Any, parse_empty: bool = False, **kwargs: Any):
        self.parse_empty = parse_empty
        super().__init__(*args, **kwargs)

    def _parse_or_no_value(self, x: Any) -> Any:
        # luigi's hook for command-line values: it reads "" as "not given" (use the default)
        if self.parse_empty and x == "":
            return self.parse(x)
        return super()._parse_or_no_value(x)


class TaskInstanceParameter(Parameter):
    """Holds a task instance; serialised as the task id. Not parsable from the command line."""

    def serialize(self, x: Any) -> str:
        return getattr(x, "task_id", str(x))

    def parse(self, x: Any) -> Any:
        if isinstance(x, luigi.Task):
            return x
        raise ValueError("a TaskInstanceParameter cannot be set from a string; pass a task instance")


class OptionalBoolParameter(luigi.BoolParameter, Parameter):
    """A boolean that may also be ``None`` (``"None"`` on the command line)."""

    def __init__(self, *args: Any, **kwargs: Any):
        kwargs.setdefault("parsing", luigi.BoolParameter.EXPLICIT_PARSING)
        super().__init__(*args, **kwargs)

    def parse(self, inp: Any) -> bool | None:
        if inp is None or isinstance(inp, bool):
            return inp
        s = str(inp).strip().lower()
        if s in ("true", "yes", "1"):
            return True
        if s in ("false", "no", "0"):
            return False
        if s in ("none", ""):
            return None
        raise ValueError(f"cannot read '{inp}' as a boolean; use true, false or none")

    def normalize(self, value: Any) -> bool | None:
        # values passed to the task constructor may be strings such as "false" or "None"
        return self.parse(value)

    def serialize(self, value: Any) -> str:
        return str(value)


class BoundedIntParameter(luigi.IntParameter):
    """
    An integer of at least *minimum*; the values in *special* (law's ``NO_INT``: not set) are
    accepted too. A smaller value is refused wherever it comes from (command line, config,
    constructor) instead of being silently read as something else.
    """

    def __init__(self, *args: Any, minimum: int, special: tuple[int, ...] = (), hint: str = "",
                 **kwargs: Any):
        self.minimum = int(minimum)
        self.special = tuple(special)
        #: said after the refusal, e.g. "leave it out for no limit"
        self.hint = hint
        super().__init__(*args, **kwargs)

    def parse(self, x: Any) -> int:
        return self.normalize(super().parse(x))

    def normalize(self, x: Any) -> Any:
        if x is None or isinstance(x, bool):
            return x
        try:
            n = int(x)
        except (TypeError, ValueError):
            raise ValueError(f"cannot read {x!r} as a whole number") from None
        if n < self.minimum and n not in self.special:
            hint = f"; {self.hint}" if self.hint else ""
            raise ValueError(f"must be at least {self.minimum}, got {n}{hint}")
        return n


class DurationParameter(Parameter):
    """
    A duration as a float in *unit* (default seconds): ``"90"``, ``"5m"``, ``"1h30m"``,
    ``"01:30:00"``. Serialised in colon format.
    """

    def __init__(self, *args: Any, unit: str = "s", **kwargs: Any):
        self.unit = time_unit(unit)
        super().__init__(*args, **kwargs)

    def parse(self, inp: Any) -> float:
        if inp in _EMPTY:
            inp = "0"
        if isinstance(inp, str) and inp.strip().startswith("-"):
            try:  # a negative plain number is an empty marker such as NO_FLOAT, not a duration
                return float(inp)
            except ValueError:
                pass
        return parse_duration(inp, input_unit=self.unit, unit=self.unit)

    def serialize(self, value: Any) -> str:
        if is_no_param(value) or (isinstance(value, (int, float)) and value < 0):
            # NO_FLOAT / NO_INT (and other negative markers) must survive a round trip
            return f"{value:g}" if isinstance(value, float) else str(value)
        seconds = parse_duration(value or 0, input_unit=self.unit, unit="s")
        return human_duration(seconds, colon_format=True)


class BytesParameter(Parameter):
    """A size as a float in *unit* (default MB): ``"500"``, ``"2GB"``, ``"1.5 TB"``."""

    def __init__(self, *args: Any, unit: str = "MB", **kwargs: Any):
        self.unit = human_bytes(1, unit)[1]
        super().__init__(*args, **kwargs)

    def parse(self, inp: Any) -> float:
        if inp in _EMPTY:
            inp = "0"
        return parse_bytes(inp, input_unit=self.unit, unit=self.unit)

    def serialize(self, value: Any) -> str:
        v = parse_bytes(value or 0, input_unit=self.unit, unit=self.unit)
        return f"{int(v) if float(v).is_integer() else v}{self.unit}"


class CSVParameter(Parameter):
    """
    A comma-separated list parsed into a tuple; items are parsed by *cls* (or *inst*), e.g.
    ``CSVParameter(cls=luigi.IntParameter)`` reads ``"4,5,6"`` as ``(4, 5, 6)``.

    Options: *unique*, *sort* (bool or key function), *min_len*, *max_len*, *choices*,
    *brace_expand* (``"a{1,2}"`` -> ``("a1", "a2")``), *escape_sep* (``\\,`` keeps a comma) and
    *force_tuple* (when False, a single value without trailing comma stays a scalar).
    """

    _sep = ","

    def __init__(
        self,
        *args: Any,
        cls: type = luigi.Parameter,
        inst: luigi.Parameter | None = None,
        unique: bool = False,
        sort: bool | Callable = False,
        min_len: int | None = None,
        max_len: int | None = None,
        choices: Any = None,
        brace_expand: bool = False,
        escape_sep: bool = True,
        force_tuple: bool = True,
        **kwargs: Any,
    ):
        self._inst = inst if inst is not None else cls()
        self._unique = unique
        self._sort = sort
        self._min_len = min_len
        self._max_len = max_len
        self._choices = tuple(choices) if choices is not None else None
        self._brace_expand = brace_expand
        self._escape_sep = escape_sep
        self._force_tuple = force_tuple
        if "default" in kwargs and kwargs["default"] is not no_value:
            kwargs["default"] = make_tuple(kwargs["default"]) if force_tuple else kwargs["default"]
        super().__init__(*args, **kwargs)

    def _split(self, text: str) -> list[str]:
        if self._brace_expand:
            from pipekit.brace import brace_expand

            return brace_expand(text, sep=self._sep, escape_sep=self._escape_sep)
        marker = "\0sep\0"
        if self._escape_sep:
            text = text.replace("\\" + self._sep, marker)
        # a plain split: quotes and newlines are part of the values, as in law
        elems = text.split(self._sep)
        if self._escape_sep:
            elems = [e.replace(marker, self._sep) for e in elems]
        if elems and not elems[-1]:
            elems.pop()
        return elems

    def _check(self, value: tuple) -> tuple:
        if self._unique:
            value = tuple(dict.fromkeys(value))
        if self._sort:
            value = tuple(sorted(value, key=self._sort if callable(self._sort) else None))
        shown = ",".join(map(str, value))
        if self._min_len is not None and len(value) < self._min_len:
            raise ValueError(f"'{shown}' has {len(value)} value(s), at least {self._min_len} needed")
        if self._max_len is not None and len(value) > self._max_len:
            raise ValueError(f"'{shown}' has {len(value)} value(s), at most {self._max_len} allowed")
        if self._choices is not None:
            bad = [v for v in value if v not in self._choices]
            if bad:
                raise ValueError(
                    f"invalid value(s) {','.join(map(str, dict.fromkeys(bad)))}; "
                    f"choose from {','.join(map(str, self._choices))}"
                )
        return value

    def parse(self, inp: Any) -> Any:
        single = False
        if inp in _EMPTY:
            value: tuple = ()
        elif isinstance(inp, (tuple, list)) or is_lazy_iterable(inp):
            value = tuple(inp)
        elif isinstance(inp, str):
            elems = self._split(inp)
            value = tuple(self._inst.parse(e) for e in elems)
            single = len(value) == 1 and not self._force_tuple and not inp.endswith(self._sep)
        else:
            value = (inp,)
        value = self._check(value)
        return value[0] if single else value

    def serialize(self, value: Any) -> str:
        if value in _EMPTY:
            return ""
        was_seq = isinstance(value, (tuple, list))
        value = self._check(make_tuple(value))
        items = [str(self._inst.serialize(v)) for v in value]
        if self._escape_sep:
            items = [i.replace(self._sep, "\\" + self._sep) for i in items]
        s = self._sep.join(items)
        if len(value) == 1 and not self._force_tuple and was_seq:
            s += self._sep
        return s

    def normalize(self, x: Any) -> Any:
        # values passed to the task constructor get the same shape and checks as parsed ones
        if x in _EMPTY:
            return ()
        if isinstance(x, (tuple, list)) or is_lazy_iterable(x):
            return self._check(tuple(x))
        return self._check((x,)) if self._force_tuple else x


class MultiCSVParameter(CSVParameter):
    """Several CSV lists separated by ``:``: ``"4,5:6"`` -> ``((4, 5), (6,))``."""

    def parse(self, inp: Any) -> tuple:
        if inp in _EMPTY:
            return ()
        if isinstance(inp, (tuple, list)) or is_lazy_iterable(inp):
            return tuple(super(MultiCSVParameter, self).parse(v) for v in inp)
        if not isinstance(inp, str):
            return (super().parse(inp),)
        marker = "\0colon\0"
        text = inp.replace("\\:", marker) if self._escape_sep else inp
        parts = text.split(":")
        return tuple(super(MultiCSVParameter, self).parse(p.replace(marker, ":")) for p in parts)

    def serialize(self, value: Any) -> str:
        if not value:
            return ""
        return ":".join(super(MultiCSVParameter, self).serialize(v) for v in make_tuple(value))

    def normalize(self, x: Any) -> Any:
        if x in _EMPTY:
            return ()
        if isinstance(x, (list, tuple)) or is_lazy_iterable(x):
            return tuple(super(MultiCSVParameter, self).normalize(v) for v in x)
        return x


class RangeParameter(Parameter):
    """
    An integer range ``"start:end"`` parsed to ``(start, end)``. With *require_start* /
    *require_end* False, ``":end"`` and ``"start:"`` give :attr:`OPEN` (None) edges; with
    *single_value*, ``"4"`` gives ``(4,)``.
    """

    RANGE_SEP = ":"
    OPEN = None

    def __init__(self, *args: Any, require_start: bool = True, require_end: bool = True,
                 single_value: bool = False, **kwargs: Any):
        self._require_start = require_start
        self._require_end = require_end
        self._single_value = single_value
        if "default" in kwargs:
            kwargs["default"] = make_tuple(kwargs["default"])
        super().__init__(*args, **kwargs)

    @classmethod
    def expand(cls, rng: tuple, min_value: int = 0, max_value: int | None = None) -> list[int]:
        """Integers covered by *rng* (end excluded); open ends need *min_value*/*max_value*."""
        from pipekit.ranges import expand_ranges

        return expand_ranges([rng], min_value=min_value, max_value=max_value)

    def _check(self, value: tuple) -> None:
        if len(value) == 1 and self._single_value:
            if not isinstance(value[0], int):
                raise ValueError(f"range {value} must hold an integer")
        elif len(value) == 2:
            start, end = value
            if start is self.OPEN and self._require_start:
                raise ValueError(f"range {self.serialize_unchecked(value)} needs a start value")
            if end is self.OPEN and self._require_end:
                raise ValueError(f"range {self.serialize_unchecked(value)} needs an end value")
        elif value:
            raise ValueError(f"cannot read {value} as a range start:end")

    def _parse_one(self, inp: Any) -> tuple:
        if inp in _EMPTY:
            return ()
        if isinstance(inp, (tuple, list)):
            return tuple(inp)
        if isinstance(inp, int):
            return (inp,)
        try:
            return tuple(int(p) if p.strip() else self.OPEN for p in str(inp).split(self.RANGE_SEP))
        except ValueError:
            raise ValueError(f"range '{inp}' holds something that is not an integer") from None

    def parse(self, inp: Any) -> tuple:
        value = self._parse_one(inp)
        self._check(value)
        return value

    def serialize_unchecked(self, value: tuple) -> str:
        return self.RANGE_SEP.join("" if v is self.OPEN else str(v) for v in value)

    def serialize(self, value: Any) -> str:
        value = tuple(value or ())
        self._check(value)
        return self.serialize_unchecked(value)


class MultiRangeParameter(RangeParameter):
    """Comma-separated ranges: ``"4:8,12:14"`` -> ``((4, 8), (12, 14))``."""

    MULTI_RANGE_SEP = ","

    @classmethod
    def expand(cls, ranges: Any, min_value: int = 0, max_value: int | None = None) -> list[int]:
        from pipekit.ranges import expand_ranges

        return expand_ranges(ranges, min_value=min_value, max_value=max_value)

    def parse(self, inp: Any) -> tuple:
        if inp in _EMPTY:
            return ()
        if isinstance(inp, (tuple, list)):
            parts = [self._parse_one(p) for p in inp]
        else:
            parts = [self._parse_one(p) for p in str(inp).split(self.MULTI_RANGE_SEP) if p.strip()]
        for p in parts:
            self._check(p)
        return tuple(parts)

    def serialize(self, value: Any) -> str:
        value = tuple(value or ())
        for v in value:
            self._check(tuple(v))
        return self.MULTI_RANGE_SEP.join(self.serialize_unchecked(tuple(v)) for v in value)

    def normalize(self, x: Any) -> Any:
        if isinstance(x, (list, tuple)):
            return tuple(tuple(v) if isinstance(v, list) else v for v in x)
        return x


class NotifyParameter(luigi.BoolParameter, Parameter):
    """
    Base of boolean parameters that switch on a notification after the task ran. Subclasses
    implement :meth:`get_transport` returning ``{"func": callable, "raw": bool, "colored": bool}``
    or None; :func:`pipekit.decorator.notify` calls it.
    """

    def __init__(self, *args: Any, **kwargs: Any):
        kwargs.setdefault("default", False)
        kwargs.setdefault("significant", False)
        super().__init__(*args, **kwargs)

    def get_transport(self) -> dict | None:
        return None


class NotifyMultiParameter(NotifyParameter):
    """Sends through several notify parameters at once (*parameters*: list of them)."""

    def __init__(self, *args: Any, parameters: list | None = None, **kwargs: Any):
        self.parameters = list(parameters or [])
        super().__init__(*args, **kwargs)

    def get_transport(self) -> list[dict]:
        # one transport per parameter, each with its own raw/colored wish (as in law)
        return [t for t in (p.get_transport() for p in self.parameters) if t]


class NotifyMailParameter(NotifyParameter):
    """Sends an e-mail through the SMTP server in ``[notifications] mail_*`` of law.cfg."""

    def __init__(self, *args: Any, **kwargs: Any):
        kwargs.setdefault("description", "when true, send a mail notification when the task finished")
        super().__init__(*args, **kwargs)

    def get_transport(self) -> dict | None:
        from pipekit.notify import notify_mail_transport

        return {"func": notify_mail_transport, "raw": True, "colored": False}


class NotifyCustomParameter(NotifyParameter):
    """Calls *notification_func(success, title, content, **kwargs)*."""

    def __init__(self, *args: Any, notification_func: Callable | None = None, **kwargs: Any):
        self.notification_func = notification_func
        super().__init__(*args, **kwargs)

    def get_transport(self) -> dict | None:
        if self.notification_func is None:
            return None
        return {"func": self.notification_func, "raw": True, "colored": False}
