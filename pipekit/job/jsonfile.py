"""
JSON files that are never half-written: :func:`write_json_atomic` writes a temporary sibling and
renames it over the destination, so a reader (or a process restarted after a crash) sees either
the old or the new content, never a mix. With ``durable=True`` (the default) the content is also
flushed to disk before the rename, so it survives a crash of the machine; files that are rewritten
anyway after such a crash (job specs) skip that.
"""

from __future__ import annotations

import json
import os
from typing import Any

__all__ = ["write_json_atomic", "write_text_atomic", "read_json", "read_json_object"]


def write_json_atomic(path: str, data: Any, indent: int | None = 1, durable: bool = True) -> None:
    """
    Write *data* as JSON to *path* through a temporary sibling and a rename; with *durable*,
    ``fsync`` the content first (one disk flush per file: the cost of a job spec's write).
    """
    write_text_atomic(path, json.dumps(data, indent=indent) + "\n", durable=durable)


def write_text_atomic(path: str, text: str, durable: bool = True) -> None:
    """Write *text* to *path* like :func:`write_json_atomic` writes JSON."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    tmp = os.path.join(directory, f".{os.path.basename(path)}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def read_json(path: str) -> Any:
    """The parsed content of *path*; raises ``OSError`` or ``ValueError`` like :func:`json.load`."""
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def read_json_object(path: str | None) -> dict[str, Any] | None:
    """
    The JSON object in *path* (an exit-status file, say), or None when there is no path, the
    file is missing or unreadable, or it holds something else: for files that may not exist yet.
    """
    if not path:
        return None
    try:
        data = read_json(path)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
