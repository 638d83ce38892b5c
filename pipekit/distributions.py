"""
Which installed packages a distribution needs: its requirements (without optional extras),
followed recursively, and the top-level modules each of them installs. Used to put pipekit and
luigi (with luigi's dependencies) into a software directory for jobs and into sandboxes.
"""

from __future__ import annotations

import importlib.metadata
import re

__all__ = ["required_names", "top_level_modules", "dependency_modules"]

_REQ_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
# first path components of a distribution's files that are not importable top-level modules
_NOT_MODULES = ("..", "__pycache__", "bin")
_NOT_MODULE_SUFFIXES = (".dist-info", ".egg-info", ".data", ".pth")
_NOT_MODULE_PREFIXES = ("__editable__", "_distutils_hack")


def required_names(dist: importlib.metadata.Distribution) -> list[str]:
    """Names of the distributions *dist* requires, leaving out optional extras."""
    names = []
    for req in dist.requires or []:
        spec, _, marker = req.partition(";")
        if "extra" in marker:
            continue  # optional features are the user's choice, not a job's need
        m = _REQ_NAME.match(spec)
        if m:
            names.append(m.group(1))
    return names


def top_level_modules(dist: importlib.metadata.Distribution) -> list[str]:
    """The top-level modules and packages *dist* installs, in a stable order."""
    text = dist.read_text("top_level.txt")
    if text:
        return [n.strip() for n in text.splitlines() if n.strip()]
    names: list[str] = []
    for f in dist.files or []:
        first = f.parts[0] if f.parts else ""
        if (not first or first in _NOT_MODULES or first.endswith(_NOT_MODULE_SUFFIXES)
                or first.startswith(_NOT_MODULE_PREFIXES)):
            continue
        if len(f.parts) == 1:
            if not first.endswith(".py"):
                continue
            first = first[:-3]
        if first not in names:
            names.append(first)
    return names


def dependency_modules(roots: tuple[str, ...]) -> list[tuple[str, str]]:
    """``(distribution name, top-level module)`` for *roots* and their requirements, recursively."""
    seen: set[str] = set()
    out: list[tuple[str, str]] = []
    queue = list(roots)
    while queue:
        name = queue.pop(0)
        key = re.sub(r"[-_.]+", "-", name).lower()
        if key in seen:
            continue
        seen.add(key)
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue  # a requirement for another platform, or not installed
        out.extend((dist.metadata["Name"], mod) for mod in top_level_modules(dist))
        queue.extend(required_names(dist))
    return out
