"""
The analysis's list of workflow ledgers, so that ``pipekit status`` can show every workflow of
an analysis from one terminal without knowing where their outputs are.

It lives in the analysis's state directory: ``<directory of law.cfg>/.law/`` (where the task
index is), or ``$LAW_HOME`` without a law.cfg. Each workflow appends one JSON line
(``{"ledger", "family", "type", "task", "time"}``) when it creates its ledger; readers keep the
last line per ledger and drop ledgers that no longer exist (``--cleanup-jobs`` removed them).
Appends of one short line are atomic on a local file system, so concurrent workflows need no
lock. The registry is an index only: losing it loses no job, and ``pipekit status --scan DIR``
finds ledgers by walking a directory instead.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any, Iterator

__all__ = ["state_dir", "registry_path", "register_ledger", "registered_ledgers", "scan_ledgers"]

REGISTRY_NAME = "workflows.jsonl"


def state_dir() -> str:
    """``<dir of law.cfg>/.law``, or ``$LAW_HOME`` (default ``~/.law``) without a config file."""
    from pipekit.config import Config, law_home_path

    cfg = Config.instance()
    if cfg.config_file:
        return os.path.join(os.path.dirname(cfg.config_file), ".law")
    return law_home_path()


def registry_path() -> str:
    return os.path.join(state_dir(), REGISTRY_NAME)


def register_ledger(ledger_path: str, info: dict[str, Any]) -> None:
    """Append the ledger at *ledger_path* to the registry (a failure to write is not fatal)."""
    entry = {"ledger": os.path.abspath(ledger_path), "family": info.get("family"),
             "type": info.get("type"), "task": info.get("task"), "time": round(time.time(), 3)}
    path = registry_path()
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry) + "\n")
    except OSError:
        pass  # status then needs --scan; the workflow itself must not fail for an index


def registered_ledgers(path: str | None = None) -> list[dict[str, Any]]:
    """The registry's entries whose ledger still exists, one per ledger, oldest first."""
    path = path or registry_path()
    entries: dict[str, dict[str, Any]] = {}
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue  # a line cut short by a full disk: skip it, keep the rest
                if isinstance(entry, dict) and entry.get("ledger"):
                    entries.pop(entry["ledger"], None)
                    entries[entry["ledger"]] = entry
    except OSError:
        return []
    return [e for e in entries.values() if os.path.exists(e["ledger"])]


_SKIP_DIRS = {".git", ".venv", "venv", "node_modules", "__pycache__", ".tox", ".mypy_cache"}


def scan_ledgers(root: str, max_depth: int = 6) -> Iterator[str]:
    """Paths of ``pipekit_*/ledger.json`` below *root* (not inside hidden or virtualenv dirs)."""
    def walk(directory: str, depth: int) -> Iterator[str]:
        try:
            entries = list(os.scandir(directory))
        except OSError:
            return
        for e in entries:
            if not e.is_dir(follow_symlinks=False):
                continue
            if e.name.startswith("pipekit_"):
                ledger = os.path.join(e.path, "ledger.json")
                if os.path.isfile(ledger):
                    yield ledger
            elif depth < max_depth and e.name not in _SKIP_DIRS and not e.name.startswith("."):
                yield from walk(e.path, depth + 1)

    yield from walk(os.path.abspath(root), 0)
