"""
pipekit: large scientific analyses on luigi.

Workflows whose branches run locally, on Slurm or on HTCondor; targets with one API over local
disk and remote storage; tasks that run inside bash, venv, Docker or Singularity sandboxes.
The public names follow law's, so ``import pipekit as law`` ports an existing analysis.

Names are imported lazily on first access, so ``import pipekit`` costs about as much as
``import luigi``.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

from pipekit.__version__ import __version__
from pipekit.contrib import install_alias

install_alias()  # import pipekit.slurm (and every other contrib name) keeps working

__all__ = ["__version__"]

# public name -> module that defines it
_LAZY: dict[str, str] = {}


def _register(module: str, *names: str) -> None:
    for name in names:
        _LAZY[name] = module
    __all__.extend(names)


_register("pipekit.task.base", "Register", "BaseTask", "Task", "WrapperTask", "ExternalTask")
_register("pipekit.workflow.base", "BaseWorkflow", "WorkflowParameter", "workflow_property",
          "cached_workflow_property", "dynamic_workflow_condition")
_register("pipekit.workflow.local", "LocalWorkflow")
_register("pipekit.target.file", "FileSystemTarget", "FileSystemFileTarget",
          "FileSystemDirectoryTarget", "FileSystem")
_register("pipekit.target.local", "LocalFileSystem", "LocalTarget", "LocalFileTarget",
          "LocalDirectoryTarget")
_register("pipekit.target.collection", "TargetCollection", "FileCollection",
          "SiblingFileCollection", "NestedSiblingFileCollection")
_register("pipekit.target.localize", "localize_file_targets")
_register("pipekit.target.mirrored", "MirroredTarget", "MirroredFileTarget",
          "MirroredDirectoryTarget")
_register("pipekit.target.remote.base", "RemoteFileSystem", "RemoteTarget", "RemoteFileTarget",
          "RemoteDirectoryTarget")
_register("pipekit.sandbox.base", "Sandbox", "SandboxTask")
_register("pipekit.sandbox.bash", "BashSandbox")
_register("pipekit.sandbox.venv", "VenvSandbox")
_register("pipekit.job.base", "BaseJobManager", "BaseJobFileFactory", "JobInputFile",
          "JobArguments")
_register("pipekit.parameter", "NO_STR", "NO_INT", "NO_FLOAT", "is_no_param", "get_param",
          "Parameter", "TaskInstanceParameter", "OptionalBoolParameter", "DurationParameter",
          "BytesParameter", "CSVParameter", "MultiCSVParameter", "RangeParameter",
          "MultiRangeParameter", "NotifyParameter", "NotifyMultiParameter",
          "NotifyMailParameter", "NotifyCustomParameter")
_register("pipekit.config", "Config")
_register("pipekit.structure", "no_value")
_register("pipekit.notify", "notify_mail")
_register("pipekit.cli.main", "run")

# submodules reachable as attributes; contrib packages (pipekit.contrib.NAME) are reachable as
# pipekit.NAME too, as after law.contrib.load(NAME)
_SUBMODULES = {
    "config", "util", "decorator", "contrib", "parameter", "task", "target", "workflow", "job",
    "sandbox", "cli", "errors", "structure", "ranges", "humanize", "notify",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is not None:
        value = getattr(importlib.import_module(module), name)
        globals()[name] = value
        return value
    if name in ("luigi_version", "luigi_version_info"):
        import luigi

        version = getattr(luigi, "__version__", "0")
        info = tuple(int(p) if p.isdigit() else p for p in version.split("."))
        globals().update(luigi_version=version, luigi_version_info=info)
        return globals()[name]
    if name in _SUBMODULES:
        return importlib.import_module(f"pipekit.{name}")
    if not name.startswith("_") and importlib.util.find_spec(f"pipekit.contrib.{name}") is not None:
        return importlib.import_module(f"pipekit.{name}")
    raise AttributeError(f"module 'pipekit' has no attribute '{name}'")


def __dir__() -> list[str]:
    from pipekit.contrib import available

    return sorted(set(globals()) | set(_LAZY) | _SUBMODULES | set(available())
                  | {"luigi_version", "luigi_version_info"})
