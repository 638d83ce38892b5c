"""
Durations and byte sizes as people write them (``"1h30m"``, ``"05:10"``, ``"2 GB"``) and back.
"""

from __future__ import annotations

import re

__all__ = ["parse_duration", "human_duration", "describe_duration", "parse_bytes", "human_bytes",
           "TIME_UNITS", "BYTE_UNITS", "byte_units", "byte_units_lower", "time_units",
           "time_unit_aliases"]

TIME_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0, "ms": 0.001}
_TIME_ALIASES = {
    "sec": "s", "secs": "s", "second": "s", "seconds": "s",
    "min": "m", "mins": "m", "minute": "m", "minutes": "m",
    "hr": "h", "hrs": "h", "hour": "h", "hours": "h",
    "day": "d", "days": "d", "week": "w", "weeks": "w",
    "msec": "ms", "millisecond": "ms", "milliseconds": "ms",
}
BYTE_UNITS = ["bytes", "kB", "MB", "GB", "TB", "PB"]
_BYTE_ALIASES = {"b": "bytes", "byte": "bytes", "bytes": "bytes", "k": "kB", "kb": "kB", "kib": "kB",
                 "m": "MB", "mb": "MB", "mib": "MB", "g": "GB", "gb": "GB", "gib": "GB",
                 "t": "TB", "tb": "TB", "tib": "TB", "p": "PB", "pb": "PB", "pib": "PB"}

_DUR_TOKEN = re.compile(r"([0-9]*\.?[0-9]+)\s*([a-zA-Z]*)")


def time_unit(unit: str) -> str:
    """Normalise a time unit name (``"minutes"`` -> ``"m"``); raise ``ValueError`` if unknown."""
    u = _TIME_ALIASES.get(unit.lower(), unit.lower() if unit.lower() in TIME_UNITS else unit)
    if u not in TIME_UNITS:
        raise ValueError(f"unknown time unit '{unit}', use one of {', '.join(TIME_UNITS)}")
    return u


def parse_duration(value: str | float | int, input_unit: str = "s", unit: str = "s") -> float:
    """
    Parse *value* into a float in *unit*. Plain numbers are in *input_unit*; strings may combine
    units (``"1h 30m"``, ``"5 minutes, 15 seconds"``) or use colons (``"HH:MM:SS"``, ``"MM:SS"``).
    """
    out = time_unit(unit)
    if isinstance(value, (int, float)):
        return float(value) * TIME_UNITS[time_unit(input_unit)] / TIME_UNITS[out]
    text = str(value).strip()
    if not text:
        return 0.0
    if ":" in text:
        parts = text.split(":")
        if len(parts) > 4 or not all(p.strip().replace(".", "", 1).isdigit() for p in parts):
            raise ValueError(f"cannot read duration '{value}'; use e.g. 1h30m, 90s or 01:30:00")
        seconds = 0.0
        for p, mult in zip(reversed(parts), (1, 60, 3600, 86400)):
            seconds += float(p) * mult
        return seconds / TIME_UNITS[out]
    seconds = 0.0
    pos = 0
    cleaned = text.replace(",", " ")
    for m in _DUR_TOKEN.finditer(cleaned):
        if cleaned[pos:m.start()].strip():
            raise ValueError(f"cannot read duration '{value}'; use e.g. 1h30m, 90s or 01:30:00")
        pos = m.end()
        num, u = float(m.group(1)), m.group(2)
        try:
            seconds += num * TIME_UNITS[time_unit(u or input_unit)]
        except ValueError:
            raise ValueError(f"cannot read duration '{value}': unknown unit '{u}'") from None
    if cleaned[pos:].strip() or pos == 0:
        raise ValueError(f"cannot read duration '{value}'; use e.g. 1h30m, 90s or 01:30:00")
    return seconds / TIME_UNITS[out]


def human_duration(seconds: float, colon_format: bool = False) -> str:
    """``3725`` -> ``"1h 2m 5s"`` (or ``"01:02:05"`` with *colon_format*)."""
    seconds = float(seconds)
    if colon_format:
        s = int(round(seconds))
        h, rem = divmod(s, 3600)
        m, s = divmod(rem, 60)
        return f"{h:02d}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms" if seconds else "0s"
    parts = []
    rest = seconds
    for name, size in (("d", 86400), ("h", 3600), ("m", 60)):
        n, rest = divmod(rest, size)
        if n:
            parts.append(f"{int(n)}{name}")
    if rest or not parts:
        parts.append(f"{rest:.0f}s" if parts or rest >= 10 else f"{rest:.1f}s")
    return " ".join(parts)


def _byte_unit(unit: str) -> str:
    u = _BYTE_ALIASES.get(unit.lower())
    if u is None:
        raise ValueError(f"unknown byte unit '{unit}', use one of {', '.join(BYTE_UNITS)}")
    return u


def parse_bytes(value: str | float | int, input_unit: str = "bytes", unit: str = "bytes") -> float:
    """``"2 GB"`` -> size in *unit* (binary multiples of 1024, as law); numbers are in *input_unit*."""
    out = BYTE_UNITS.index(_byte_unit(unit))
    if isinstance(value, (int, float)):
        n, u = float(value), _byte_unit(input_unit)
    else:
        m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([a-zA-Z]*)\s*", str(value))
        if not m:
            raise ValueError(f"cannot read size '{value}'; use e.g. 500MB or 2GB")
        n, u = float(m.group(1)), _byte_unit(m.group(2) or input_unit)
    return n * 1024.0 ** (BYTE_UNITS.index(u) - out)


def human_bytes(
    n: float, unit: str | None = None, fmt: bool | str = False
) -> tuple[float, str] | str:
    """
    ``(value, unit)`` for *n* bytes, in *unit* or the largest unit keeping value >= 1. With
    *fmt* (as law), a string instead: ``"3.2 MB"`` for True, or ``fmt.format(value, unit)``.
    """
    if unit is not None:
        idx = BYTE_UNITS.index(_byte_unit(unit))
    else:
        idx = 0
        while idx + 1 < len(BYTE_UNITS) and abs(n) >= 1024.0 ** (idx + 1):
            idx += 1
    value, name = n / 1024.0**idx, BYTE_UNITS[idx]
    if fmt:
        template = fmt if isinstance(fmt, str) else ("{:.0f} {}" if idx == 0 else "{:.1f} {}")
        return template.format(value, name)
    return value, name


# law.util's unit tables, for code that reads them
byte_units = BYTE_UNITS + ["EB"]
byte_units_lower = [u.lower() for u in byte_units]
time_units = {"week": 604800, "day": 86400, "hour": 3600, "minute": 60, "second": 1}
time_unit_aliases = {
    "w": "week", "weeks": "week", "d": "day", "days": "day", "h": "hour", "hours": "hour",
    "m": "minute", "min": "minute", "mins": "minute", "minutes": "minute",
    "s": "second", "sec": "second", "secs": "second", "seconds": "second",
}
_WORD_UNITS = ("day", "hour", "minute", "second")


def describe_duration(colon_format: bool | str = False, plural: bool = True, **kwargs: float) -> str:
    """
    law.util's ``human_duration``: the duration given as ``datetime.timedelta`` keywords
    (``seconds=3725``) in words, ``"1 hour, 2 minutes, 5 seconds"``, or with *colon_format*
    as ``"[d-][hh:]mm:ss"``; a unit name as *colon_format* (``"h"``) is the largest field shown.
    """
    import datetime

    seconds = datetime.timedelta(**kwargs).total_seconds()
    negative, seconds = seconds < 0, abs(seconds)
    first = 0
    if isinstance(colon_format, str):
        limit = time_unit_aliases.get(colon_format, colon_format)
        if limit not in _WORD_UNITS:
            raise ValueError(f"unknown colon_format unit '{colon_format}', use one of "
                             f"{', '.join(_WORD_UNITS)}")
        first = _WORD_UNITS.index(limit)
    fields: list[tuple[str, float]] = []
    for unit in _WORD_UNITS[first:]:
        if unit == "second":
            value: float = round(seconds, 2)
            value = int(value) if value == int(value) else value
        else:
            value = int(seconds // time_units[unit])
            seconds -= value * time_units[unit]
        fields.append((unit, value))
    if colon_format:
        # leading zero fields are dropped, except minutes and seconds and a given limit
        while len(fields) > 2 and fields[0][1] == 0 and not isinstance(colon_format, str):
            fields.pop(0)
        text = ""
        for unit, value in fields:
            if unit == "day":
                text += f"{value}-"
            elif unit == "second":
                text += f"0{value}" if value < 10 else f"{value}"
            else:
                text += f"{value:02d}:"
        return ("-" if negative else "") + text
    words = [f"{value} {unit}{'' if value == 1 or not plural else 's'}"
             for unit, value in fields if value != 0]
    text = ", ".join(words) or f"0 second{'s' if plural else ''}"
    return ("minus " if negative else "") + text
