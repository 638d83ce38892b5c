"""
law-style loading of optional parts: ``law.contrib.load("slurm", "htcondor")`` imports
``pipekit.slurm`` and ``pipekit.htcondor`` and makes them attributes of the ``pipekit`` package,
so that code written for law (``law.contrib.load("slurm")`` then ``law.slurm.SlurmWorkflow``)
runs unchanged. Any module ``pipekit.<name>`` loads this way; a missing optional dependency is
reported with the extra to install. A module's ``auto_load()``, if it has one, is called on load.
"""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["load", "loaded"]

_loaded: dict[str, ModuleType] = {}


def load(*names: str) -> ModuleType | list[ModuleType]:
    """
    Import ``pipekit.<name>`` for each name and set it as attribute of ``pipekit``. Returns the
    module for one name, the list of modules for several.
    """
    import pipekit
    from pipekit.errors import UsageError

    modules = []
    for name in names:
        if not isinstance(name, str) or not name.isidentifier():
            raise UsageError(f"contrib.load() takes module names such as 'slurm', got {name!r}")
        try:
            module = importlib.import_module(f"pipekit.{name}")
        except ModuleNotFoundError as e:
            if e.name in (f"pipekit.{name}", "pipekit." + name.split(".")[0]):
                raise UsageError(f"pipekit has no contrib package '{name}'") from None
            raise
        setattr(pipekit, name, module)
        _loaded[name] = module
        modules.append(module)
        auto_load = getattr(module, "auto_load", None)
        if callable(auto_load):  # as in law: e.g. loading "ipython" registers the magics
            auto_load()
    return modules[0] if len(modules) == 1 else modules


def loaded() -> list[str]:
    """Names loaded so far with :func:`load`."""
    return list(_loaded)
