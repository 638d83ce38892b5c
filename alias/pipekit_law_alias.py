"""
The opt-in ``law`` alias: ``import law`` and ``import law.X`` give pipekit's modules, so an
analysis written for law runs unchanged. Installed by ``pip install ./alias`` (the distribution
``pipekit-law-alias``), whose ``.pth`` file calls :func:`install` at interpreter start.

For ``law`` itself the finder first asks every other finder: when one knows a real law
installation, that one is imported, so a real law always wins. Submodules (``law.util``) are
answered by the finder only while ``law`` is the alias; it sits at the front of
``sys.meta_path`` for them, since the normal machinery would otherwise load pipekit's files a
second time under law's names (two ``Task`` classes). It imports nothing of pipekit until
``law`` is imported, and costs one string comparison for every other import. ``law.X`` is answered with ``pipekit.X``, and
law's contrib names (``law.contrib.htcondor``, ``law.htcondor``) with ``pipekit.contrib.X``;
``law`` itself is the ``pipekit`` package object.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from types import ModuleType
from typing import Any, Sequence

__all__ = ["LawAlias", "install", "uninstall", "target_of"]

#: law modules whose pipekit counterpart has another name
RENAMED = {"law.contrib.ipython": "pipekit.contrib.ipython", "law.notification": "pipekit.notify",
           "law.logger": "pipekit.cli.execution", "law.target.formatter": "pipekit.target.formatter"}


def target_of(fullname: str) -> str | None:
    """The pipekit module answering *fullname* (``law``, ``law.X.Y``), or None for others."""
    if fullname == "law":
        return "pipekit"
    if not fullname.startswith("law."):
        return None
    return RENAMED.get(fullname, "pipekit." + fullname[len("law."):])


class LawAlias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Answers ``import law...`` with pipekit's modules when no real ``law`` exists."""

    def find_spec(self, fullname: str, path: Sequence[str] | None = None,
                  target: Any = None) -> importlib.machinery.ModuleSpec | None:
        name = target_of(fullname)
        if name is None:
            return None
        if fullname == "law" and _real_law_exists():
            return None
        if fullname != "law" and not _is_alias(sys.modules.get("law")):
            return None  # a real law package is imported: never mix in pipekit's modules
        try:
            if importlib.util.find_spec(name) is None:
                return None
        except ModuleNotFoundError:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        module = importlib.import_module(target_of(spec.name))  # type: ignore[arg-type]
        spec.loader_state = module.__spec__
        return module

    def exec_module(self, module: ModuleType) -> None:
        # importlib has set the alias spec on pipekit's module: give it its own back
        own = getattr(module.__spec__, "loader_state", None)
        if own is not None:
            module.__spec__ = own


def _is_alias(module: Any) -> bool:
    return module is not None and getattr(module, "__name__", "") == "pipekit"


def _real_law_exists() -> bool:
    # another finder (sys.path, an editable install's) knows a real law: let it import that
    for finder in list(sys.meta_path):
        if isinstance(finder, LawAlias):
            continue
        find = getattr(finder, "find_spec", None)
        try:
            if find is not None and find("law", None) is not None:
                return True
        except (ImportError, ValueError):
            continue
    return False


def install() -> None:
    """Put the alias finder at the front of ``sys.meta_path`` (once)."""
    if not any(isinstance(f, LawAlias) for f in sys.meta_path):
        sys.meta_path.insert(0, LawAlias())


def uninstall() -> None:
    """Remove the alias finder; ``law`` modules imported through it stay imported."""
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, LawAlias)]
