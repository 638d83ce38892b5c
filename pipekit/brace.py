"""
Shell-style brace expansion for parameter values and config lists:
``"a{1,2}b,c"`` -> ``["a1b", "a2b", "c"]`` (with *sep* splitting at the top level).
"""

from __future__ import annotations

__all__ = ["brace_expand"]


def _split_top(text: str, sep: str, escape_sep: bool) -> list[str]:
    parts, depth, cur, i = [], 0, [], 0
    while i < len(text):
        c = text[i]
        if escape_sep and c == "\\" and i + 1 < len(text) and text[i + 1] == sep:
            cur.append("\\" + sep)
            i += 2
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth = max(0, depth - 1)
        if c == sep and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(c)
        i += 1
    parts.append("".join(cur))
    return parts


def _expand_one(text: str) -> list[str]:
    start = text.find("{")
    while start != -1:
        depth = 0
        for end in range(start, len(text)):
            if text[end] == "{":
                depth += 1
            elif text[end] == "}":
                depth -= 1
                if depth == 0:
                    break
        else:
            return [text]  # unbalanced: leave as is
        inner = text[start + 1:end]
        options = _split_top(inner, ",", escape_sep=True)
        if len(options) > 1:
            head, tail = text[:start], text[end + 1:]
            out: list[str] = []
            for opt in options:
                out.extend(_expand_one(head + opt + tail))
            return out
        start = text.find("{", end + 1)
    return [text]


def brace_expand(text: str, sep: str | None = ",", escape_sep: bool = True) -> list[str]:
    """Expand braces in *text*; when *sep* is given, also split at top-level separators."""
    chunks = _split_top(text, sep, escape_sep) if sep else [text]
    out: list[str] = []
    for chunk in chunks:
        for v in _expand_one(chunk):
            out.append(v.replace("\\" + sep, sep) if sep and escape_sep else v)
    if out and out[-1] == "" and len(chunks) > 1:
        out.pop()
    return out
