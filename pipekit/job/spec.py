"""
:class:`JobSpec`: what one remote job runs — the task class, the workflow's parameters as
serialised strings, the branches, the worker count and where to run. The submitting side writes
one spec per job (a small JSON file); the node (``python -m pipekit.job SPEC``) rebuilds the
workflow from it with the task's own luigi parameters (``param.parse(value)``), never by
unpickling, so any parameter value — spaces, quotes, ``;``, ``$()``, backticks, newlines —
arrives verbatim and no shell ever sees it.
"""

from __future__ import annotations

import importlib
import os
import sys
from dataclasses import asdict, dataclass, field
from typing import Any

from pipekit.errors import ParameterError, UsageError
from pipekit.job.jsonfile import read_json, write_json_atomic
from pipekit.parameter import is_no_param

__all__ = ["JobSpec", "SPEC_VERSION", "module_root"]

SPEC_VERSION = 1


def module_root(cls: type) -> str | None:
    """The directory that makes ``cls.__module__`` importable (None for installed packages)."""
    module = sys.modules.get(cls.__module__)
    path = getattr(module, "__file__", None)
    if not path:
        return None
    root = os.path.dirname(os.path.abspath(path))
    depth = cls.__module__.count(".")
    if os.path.basename(path) == "__init__.py":
        depth += 1
    for _ in range(depth):
        root = os.path.dirname(root)
    return root


@dataclass
class JobSpec:
    """The content of one job spec file (see the module docstring)."""

    task_module: str
    task_class: str
    #: the workflow's parameters, ``{name: serialised value}`` (branch-level exclusions applied)
    params: dict[str, str]
    branches: list[int]
    workers: int = 1
    #: values of other tasks' parameters given on the command line (``--Upstream-n 3``)
    family_params: dict[str, dict[str, str]] = field(default_factory=dict)
    #: directories put in front of ``sys.path`` so the task module imports on the node
    python_path: list[str] = field(default_factory=list)
    #: the working directory of the submitting process (relative paths resolve against it)
    cwd: str = ""
    job_num: int = -1
    attempt: int = 1
    tag: str = ""
    #: the bundles the job unpacks before importing the task (:class:`pipekit.bundle.BundleRef`
    #: as dicts)
    bundles: list[dict[str, Any]] = field(default_factory=list)
    #: the law.cfg the submitting process read (mapped into a bundle that holds it, on the node)
    config_file: str | None = None
    version: int = SPEC_VERSION

    # -- building, on the submitting side -------------------------------------------------------

    @classmethod
    def from_workflow(cls, task: Any, branches: list[int], exclude: set[str], workers: int = 1,
                      **kwargs: Any) -> JobSpec:
        """The spec for *branches* of the workflow *task*; *exclude* names parameters to drop."""
        tcls = task.__class__
        if tcls.__module__ == "__main__":
            raise UsageError(
                f"{tcls.__name__} is defined in the script being run (__main__), which remote jobs "
                "cannot import; move the task into a module and run it as module.Class"
            )
        # values still at law's "not set" markers are left out: the node then takes the
        # parameter's default, and markers need not survive serialize -> parse
        params = {name: p.serialize(getattr(task, name)) for name, p in task.get_params()
                  if name not in exclude and not is_no_param(getattr(task, name))}
        from pipekit.task.base import _cli_values

        family = task.get_task_family()
        others = {fam: dict(vals) for fam, vals in _cli_values.items() if fam != family and vals}
        root = module_root(tcls)
        from pipekit.config import Config

        kwargs.setdefault("config_file", Config.instance().config_file)
        return cls(task_module=tcls.__module__, task_class=tcls.__name__, params=params,
                   branches=[int(b) for b in branches], workers=max(1, int(workers)),
                   family_params=others, python_path=[root] if root else [],
                   cwd=os.getcwd(), **kwargs)

    def dump(self, path: str) -> None:
        """
        Write the spec atomically (never half-written), without ``fsync``: specs are written
        before the ledger records their submission, a crashed submitter writes them anew, and a
        job that finds its spec lost to a crash of the machine fails with exit code 2 and is
        resubmitted with a new one. The batch script next to it is not flushed either.
        """
        write_json_atomic(path, asdict(self), durable=False)

    @classmethod
    def load(cls, path: str) -> JobSpec:
        try:
            data = read_json(path)
        except (OSError, ValueError) as e:
            raise UsageError(f"cannot read job spec '{path}': {e}") from None
        if not isinstance(data, dict) or data.get("version") != SPEC_VERSION:
            raise UsageError(f"job spec '{path}' is not a pipekit job spec of version {SPEC_VERSION}")
        known = set(cls.__dataclass_fields__)
        try:
            return cls(**{k: v for k, v in data.items() if k in known})
        except TypeError as e:
            raise UsageError(f"job spec '{path}' is incomplete: {e}") from None

    # -- rebuilding, on the node ----------------------------------------------------------------

    def task_class_object(self) -> type:
        """Import the task module (with :attr:`python_path` first on ``sys.path``)."""
        for p in reversed(self.python_path):
            if p not in sys.path:
                sys.path.insert(0, p)
        try:
            module = importlib.import_module(self.task_module)
        except Exception as e:
            raise UsageError(f"cannot import task module '{self.task_module}' on "
                             f"{os.uname().nodename}: {type(e).__name__}: {e}") from e
        tcls = getattr(module, self.task_class, None)
        if not isinstance(tcls, type):
            raise UsageError(f"module '{self.task_module}' has no task class '{self.task_class}'")
        return tcls

    def build_workflow(self) -> Any:
        """The workflow, with the job's branches selected, from the spec's parameters."""
        tcls = self.task_class_object()
        self._apply_family_params()
        params = dict(tcls.get_params())
        kwargs: dict[str, Any] = {}
        for name, raw in self.params.items():
            param = params.get(name)
            if param is None:
                raise ParameterError(f"{tcls.__name__} has no parameter '{name}' (job spec and "
                                     "task code differ; was the task changed after submission?)")
            try:
                kwargs[name] = param.parse(raw)
            except Exception as e:
                raise ParameterError(f"cannot parse --{name} {raw!r} of {tcls.__name__}: {e}") from None
        if "branches" in params:
            kwargs["branches"] = params["branches"].parse(",".join(map(str, self.branches)))
        return tcls(**kwargs)

    def _apply_family_params(self) -> None:
        if not self.family_params:
            return
        import luigi.configuration

        from pipekit.task.base import set_cli_values

        conf = luigi.configuration.get_config()
        for family, values in self.family_params.items():
            if not conf.has_section(family):
                conf.add_section(family)
            for name, raw in values.items():
                conf.set(family, name, raw.replace("%", "%%"))  # luigi interpolates %
        set_cli_values(self.family_params)
