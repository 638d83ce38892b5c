"""
The law-compatible packages (``law.contrib.load("slurm", "htcondor")`` then ``law.slurm``, ...)
live here, one module each, so that pipekit's top level shows its own concepts. Each module is
a small facade over pipekit's implementation (``pipekit.contrib.slurm`` re-exports
:mod:`pipekit.batch.slurm`) or, where law's package is small, the implementation itself.

:func:`load` imports ``pipekit.contrib.<name>`` for each name and makes it an attribute of the
``pipekit`` package (``law.slurm`` after ``import pipekit as law``). A module's ``auto_load()``,
if it has one, is called on load, as in law (loading "ipython" registers the magics).

``import pipekit.slurm`` keeps working for every module here: :class:`ContribAlias` (installed
by ``pipekit/__init__.py``) answers imports of ``pipekit.<name>`` that no real module of that
name answers with the module ``pipekit.contrib.<name>`` itself, not a copy.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from types import ModuleType
from typing import Any, Sequence

__all__ = ["load", "loaded", "available", "ContribAlias"]

_loaded: dict[str, ModuleType] = {}


def load(*names: str) -> ModuleType | list[ModuleType]:
    """
    Import ``pipekit.contrib.<name>`` for each name and set it as attribute of ``pipekit``.
    Returns the module for one name, the list of modules for several. An unknown name raises a
    :class:`pipekit.errors.UsageError` listing the names there are.
    """
    import pipekit
    from pipekit.errors import UsageError

    modules = []
    for name in names:
        if not isinstance(name, str) or not name.isidentifier():
            raise UsageError(f"contrib.load() takes module names such as 'slurm', got {name!r}")
        try:
            module = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as e:
            if e.name == f"{__name__}.{name}":
                raise UsageError(f"pipekit has no contrib package '{name}'; there are: "
                                 f"{', '.join(available())}") from None
            raise
        setattr(pipekit, name, module)
        _loaded[name] = module
        modules.append(module)
        auto_load = getattr(module, "auto_load", None)
        if callable(auto_load):
            auto_load()
    return modules[0] if len(modules) == 1 else modules


def loaded() -> list[str]:
    """Names loaded so far with :func:`load`."""
    return list(_loaded)


def available() -> list[str]:
    """Every contrib package name :func:`load` accepts, sorted."""
    import pkgutil

    return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


class ContribAlias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """
    Makes ``import pipekit.<name>`` give the module ``pipekit.contrib.<name>`` when no module
    ``pipekit.<name>`` exists. Sits at the end of ``sys.meta_path``, so it is asked only after
    the normal finders found nothing; both names then refer to one module object.
    """

    prefix = "pipekit."
    _own_spec: importlib.machinery.ModuleSpec | None = None

    def find_spec(self, fullname: str, path: Sequence[str] | None = None,
                  target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if not fullname.startswith(self.prefix):
            return None
        name = fullname[len(self.prefix):]
        if "." in name or name == "contrib" or not name.isidentifier():
            return None
        if importlib.util.find_spec(f"{__name__}.{name}") is None:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        module = importlib.import_module(f"{__name__}.{spec.name[len(self.prefix):]}")
        self._own_spec = module.__spec__
        return module

    def exec_module(self, module: ModuleType) -> None:
        # importlib has just set the alias spec on the shared module: give it its own back
        module.__spec__ = self._own_spec


def install_alias() -> None:
    """Put :class:`ContribAlias` at the end of ``sys.meta_path`` (once)."""
    if not any(isinstance(f, ContribAlias) for f in sys.meta_path):
        sys.meta_path.append(ContribAlias())
