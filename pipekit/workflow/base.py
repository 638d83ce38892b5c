"""
Branch workflows: one task class that is both a *workflow* (``branch == -1``) and its
*branches* (``branch >= 0``), each branch doing one item of the branch map.

The user writes ``create_branch_map()`` and the branch-level ``requires`` / ``output`` / ``run``;
the workflow-level versions come from the workflow type chosen with ``--workflow`` among the
workflow mixins the class inherits (``LocalWorkflow``, ``SlurmWorkflow``, ``HTCondorWorkflow``;
the first in the MRO is the default). The workflow's output is ``{"collection": collection of
all branch outputs}``, as in law.

Cost does not grow with N where it need not: the branch map is computed once per workflow (and
shared with its branch tasks through a cache keyed by the workflow's parameters), branch tasks
for bulk work are created without luigi's instantiation machinery, and completeness is one
directory listing per output directory.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Iterator

import luigi

from pipekit.errors import BranchError, UsageError
from pipekit.parameter import NO_STR
from pipekit.ranges import OPEN, join_ranges
from pipekit.target.collection import TargetCollection
from pipekit.task.base import Task
from pipekit.workflow.parameter import BranchesParameter, WorkflowParameter

__all__ = [
    "BaseWorkflow",
    "BaseWorkflowProxy",
    "WorkflowParameter",
    "workflow_property",
    "cached_workflow_property",
    "dynamic_workflow_condition",
]

# names whose workflow-level implementation comes from the workflow proxy
_DISPATCHED = ("requires", "output", "run", "complete")

# branch maps shared by all instances of a workflow: (class, parameter key) -> map
_branch_map_cache: dict[tuple, dict[int, Any]] = {}


def _dispatching(name: str, branch_impl: Callable) -> Callable:
    @functools.wraps(branch_impl)
    def method(self: BaseWorkflow, *args: Any, **kwargs: Any) -> Any:
        if self.branch == -1:
            return getattr(self.workflow_proxy, name)(*args, **kwargs)
        return branch_impl(self, *args, **kwargs)

    method._pipekit_branch_impl = branch_impl  # type: ignore[attr-defined]
    return method


class BaseWorkflowProxy:
    """
    The workflow-level behaviour of one workflow type. Subclasses set :attr:`workflow_type` and
    implement :meth:`run`; :meth:`requires`, :meth:`output` and :meth:`complete` have defaults.
    """

    workflow_type: str = ""

    def __init__(self, task: BaseWorkflow):
        self.task = task

    def requires(self) -> Any:
        return self.task.workflow_requires()

    def output(self) -> dict[str, TargetCollection]:
        return self.task.workflow_output()

    def complete(self) -> bool:
        return self.task.workflow_complete()

    def run(self) -> Any:
        raise NotImplementedError

    def extra_status_lines(self, target_depth: int) -> list[str]:
        return []


class BaseWorkflow(Task):
    """
    Base of all workflows. Hooks a user overrides: :meth:`create_branch_map` (a dict
    ``{branch: data}``, a list or an int), :meth:`workflow_requires`, and the branch-level
    ``requires`` / ``output`` / ``run``.
    """

    exclude_index = True

    workflow = luigi.Parameter(
        default=NO_STR,
        significant=False,
        description="workflow type among those the task inherits (e.g. local, slurm, htcondor); "
        "default: the first in the class hierarchy",
    )
    acceptance = luigi.FloatParameter(
        default=1.0,
        significant=False,
        description="branches that must be present for the workflow to count as complete: a "
        "fraction (<= 1) or a count (> 1); default: 1.0",
    )
    tolerance = luigi.FloatParameter(
        default=0.0,
        significant=False,
        description="branches that may fail without failing the workflow: a fraction (<= 1) or "
        "a count (> 1); default: 0.0",
    )
    pilot = luigi.BoolParameter(
        default=False,
        significant=False,
        description="skip the workflow's own requirements and let branches resolve theirs",
    )
    branch = luigi.IntParameter(
        default=-1,
        description="the branch to run; -1 (default) is the workflow itself",
    )
    branches = BranchesParameter(
        description="branches the workflow runs: N, A-B (B included), A:B (B excluded), A:, :B; "
        "comma separated; default: all",
    )

    #: parameters a workflow does not pass to its branches
    exclude_params_branch = {"acceptance", "tolerance", "pilot", "branches"}
    #: parameters a branch does not pass to its workflow
    exclude_params_workflow = {"branch"}
    exclude_params_repr_empty = {"branches"}
    #: collection class of the workflow output (None: TargetCollection, batched per directory)
    output_collection_cls: type | None = None

    def __init_subclass__(cls, **kwargs: Any):
        super().__init_subclass__(**kwargs)
        # the resolved method may come from the class itself or from a non-workflow base class
        # earlier in the MRO (a user's own Task base); either way it is the branch-level version
        for name in _DISPATCHED:
            impl = getattr(cls, name, None)
            if callable(impl) and not hasattr(impl, "_pipekit_branch_impl"):
                setattr(cls, name, _dispatching(name, impl))

    # -- workflow or branch ---------------------------------------------------------------------

    def is_workflow(self) -> bool:
        return self.branch == -1

    def is_branch(self) -> bool:
        return self.branch != -1

    @classmethod
    def workflow_classes(cls) -> list[type]:
        """The workflow mixins this class inherits, first (default) first."""
        return [c for c in cls.__mro__ if "workflow_proxy_cls" in c.__dict__]

    @classmethod
    def find_workflow_cls(cls, name: str | None = None) -> type:
        """The workflow mixin for type *name* (empty: the first in the MRO)."""
        classes = cls.workflow_classes()
        if not classes:
            raise UsageError(f"{cls.__name__} inherits no workflow type (e.g. pipekit.LocalWorkflow)")
        if name in (None, "", NO_STR):
            return classes[0]
        for c in classes:
            if c.workflow_proxy_cls.workflow_type == name:
                return c
        types = ", ".join(c.workflow_proxy_cls.workflow_type for c in classes)
        raise UsageError(f"{cls.__name__} has no workflow type '{name}'; it supports: {types}")

    @property
    def workflow_type(self) -> str:
        return self.find_workflow_cls(self.workflow).workflow_proxy_cls.workflow_type

    @property
    def workflow_proxy(self) -> BaseWorkflowProxy:
        proxy = self.__dict__.get("_workflow_proxy")
        if proxy is None:
            proxy = self.find_workflow_cls(self.workflow).workflow_proxy_cls(self)
            self.__dict__["_workflow_proxy"] = proxy
        return proxy

    # -- default branch-level methods (dispatched for the workflow) -----------------------------

    def requires(self) -> Any:
        return []

    def output(self) -> Any:
        return []

    def run(self) -> Any:
        return None

    def complete(self) -> bool:
        return Task.complete(self)

    # -- related tasks --------------------------------------------------------------------------

    def as_workflow(self) -> BaseWorkflow:
        """The workflow this branch belongs to (the task itself for a workflow)."""
        if self.is_workflow():
            return self
        wf = self.__dict__.get("_workflow_task")
        if wf is None:
            wf = self.req(self, branch=-1, _exclude=self.exclude_params_workflow)
            self.__dict__["_workflow_task"] = wf
        return wf

    def as_branch(self, branch: int | None = None) -> BaseWorkflow:
        """Branch *branch* (default: the first selected branch, or this branch)."""
        if branch is None:
            if self.is_branch():
                return self
            branch = next(iter(self.branch_map), 0)
        return self.req_branch(branch)

    def req_branch(self, branch: int, **kwargs: Any) -> BaseWorkflow:
        """A branch task of this workflow (created with luigi's normal machinery)."""
        return self.req(self, branch=branch, _exclude=self.exclude_params_branch, **kwargs)

    req_workflow = as_workflow

    # -- branch map -----------------------------------------------------------------------------

    def create_branch_map(self) -> Any:
        """The branch map: ``{branch: data}``, a list (indices become branches) or an int N."""
        raise NotImplementedError(f"{self.__class__.__name__} must implement create_branch_map()")

    def _branch_map_key(self) -> tuple:
        skip = {"branch", "branches", "acceptance", "tolerance", "pilot", "workflow"}
        values = []
        for name, param in self.get_params():
            if name in skip or isinstance(param, WorkflowParameter):
                continue
            try:
                hash(getattr(self, name))
                values.append((name, getattr(self, name)))
            except TypeError:
                values.append((name, param.serialize(getattr(self, name))))
        return (self.__class__, tuple(values))

    @staticmethod
    def _sanitize_branch_map(raw: Any, owner: str) -> dict[int, Any]:
        if isinstance(raw, bool):
            raise TypeError(f"create_branch_map() of {owner} returned a bool")
        if isinstance(raw, int):
            return dict(enumerate(range(raw)))
        if isinstance(raw, (list, tuple)):
            return dict(enumerate(raw))
        if isinstance(raw, dict):
            for b in raw:
                if not isinstance(b, int) or isinstance(b, bool) or b < 0:
                    raise TypeError(f"branch map keys of {owner} must be integers >= 0, got {b!r}")
            return raw
        raise TypeError(f"create_branch_map() of {owner} must return a dict, list or int, got {type(raw).__name__}")

    def get_branch_map(self, reduce_branches: bool = True) -> dict[int, Any]:
        """
        The branch map, computed once per workflow. With *reduce_branches*, a workflow with
        ``--branches`` gets only the selected branches.
        """
        key = self._branch_map_key()
        full = _branch_map_cache.get(key)
        if full is None:
            wf = self.as_workflow() if self.is_branch() else self
            full = self._sanitize_branch_map(wf.create_branch_map(), self.__class__.__name__)
            if getattr(wf, "_branch_map_cacheable", lambda: True)():
                _branch_map_cache[key] = full
        if reduce_branches and self.is_workflow() and self.branches:
            selected = self.selected_branches(full)
            return {b: full[b] for b in selected}
        return full

    @property
    def branch_map(self) -> dict[int, Any]:
        return self.get_branch_map()

    def selected_branches(self, full: dict[int, Any] | None = None) -> list[int]:
        """Branch numbers of the workflow after ``--branches`` (all when not given)."""
        full = self.get_branch_map(reduce_branches=False) if full is None else full
        if not self.branches:
            return list(full)
        keys = list(full)
        max_b = max(keys) if keys else -1
        wanted: set[int] = set()
        for r in self.branches:
            if len(r) == 1:
                wanted.add(r[0])
            else:
                start, end = r
                start = 0 if start is OPEN else start
                end = max_b + 1 if end is OPEN else end
                wanted.update(range(start, end))
        unknown = sorted(b for b in wanted if b not in full)
        if unknown:
            raise BranchError(
                f"--branches selects {join_ranges(unknown, max_ranges=6)}, which "
                f"{'is' if len(unknown) == 1 else 'are'} not in the branch map of "
                f"{self.__class__.__name__} (branches {join_ranges(keys, max_ranges=6) or 'none'})"
            )
        selected = [b for b in keys if b in wanted]
        if not selected:
            raise BranchError(
                f"--branches {self.get_param_values_repr('branches')} selects no branch of "
                f"{self.__class__.__name__} (branches {join_ranges(keys, max_ranges=6) or 'none'})"
            )
        return selected

    @property
    def branch_data(self) -> Any:
        """The branch map entry of this branch."""
        if self.is_workflow():
            raise BranchError(f"{self!r} is a workflow; branch_data exists only for branches")
        full = self.get_branch_map(reduce_branches=False)
        try:
            return full[self.branch]
        except KeyError:
            keys = list(full)
            raise BranchError(
                f"branch {self.branch} is not in the branch map of {self.__class__.__name__} "
                f"(branches {join_ranges(keys, max_ranges=6) or 'none'})"
            ) from None

    def get_param_values_repr(self, name: str) -> str:
        return dict(self.get_params())[name].serialize(getattr(self, name))

    def validate_branch_selection(self) -> None:
        """
        Raise early, with a usage error, when ``--workflow`` names a type the class lacks or
        ``--branch`` / ``--branches`` select branches that do not exist.
        """
        self.find_workflow_cls(self.workflow)
        if self.is_branch():
            self.branch_data  # noqa: B018
        elif self.branches:
            self.selected_branches()

    def reset_branch_map(self) -> None:
        """Forget the branch map and everything derived from it (dynamic workflows)."""
        _branch_map_cache.pop(self._branch_map_key(), None)
        for attr in ("_wf_output", "_branch_tmpl"):
            self.__dict__.pop(attr, None)

    def get_branches_repr(self, max_ranges: int = 10) -> str:
        return join_ranges(self.branch_map, max_ranges=max_ranges)

    def get_branch_chunks(self, chunk_size: int) -> list[list[int]]:
        branches = list(self.branch_map)
        return [branches[i:i + chunk_size] for i in range(0, len(branches), chunk_size)]

    # -- branch tasks ---------------------------------------------------------------------------

    def _branch_template(self) -> dict[str, Any]:
        """Instance dict of one properly created branch, used to clone the others cheaply."""
        tmpl = self.__dict__.get("_branch_tmpl")
        if tmpl is None:
            first = next(iter(self.get_branch_map(reduce_branches=False)), 0)
            proto = self.req_branch(first)
            tmpl = {k: v for k, v in proto.__dict__.items()
                    if k not in ("_task_id", "_Task__hash", "_workflow_task", "_workflow_proxy",
                                 "_branch_tmpl", "_wf_output")}
            self.__dict__["_branch_tmpl"] = tmpl
        return tmpl

    def _workflow_param_names(self) -> list[str]:
        return [n for n, p in self.get_params() if isinstance(p, WorkflowParameter)]

    def branch_task(self, branch: int) -> BaseWorkflow:
        """
        Branch *branch* of this workflow, created by cloning a prototype branch instead of
        going through luigi's instantiation (the cost that dominates large workflows). It is
        equal to, and has the same task id as, ``self.req_branch(branch)``.
        """
        tmpl = self._branch_template()
        obj = object.__new__(self.__class__)
        d = obj.__dict__
        d.update(tmpl)
        d["branch"] = branch
        pk = dict(tmpl["param_kwargs"])
        pk["branch"] = branch
        wparams = self._workflow_param_names()
        if wparams:
            data = self.get_branch_map(reduce_branches=False)[branch]
            for name in wparams:
                value = _branch_value(branch, data, name)
                d[name] = pk[name] = value
        d["param_kwargs"] = pk
        d["_workflow_task"] = self
        return obj

    def iter_branch_tasks(self) -> Iterator[tuple[int, BaseWorkflow]]:
        """``(branch, task)`` for the selected branches, created on the fly."""
        for b in self.branch_map:
            yield b, self.branch_task(b)

    def get_branch_tasks(self) -> dict[int, BaseWorkflow]:
        """All selected branch tasks as ``{branch: task}``."""
        return dict(self.iter_branch_tasks())

    # -- workflow-level outputs and requirements -----------------------------------------------

    def workflow_requires(self) -> Any:
        """Requirements of the workflow as a whole (e.g. an upstream workflow). Default: none."""
        return {}

    def workflow_input(self) -> Any:
        """The outputs of :meth:`workflow_requires`."""
        return luigi.task.getpaths(self.workflow_requires())

    def requires_from_branch(self) -> list:
        """The requirements of all selected branches (for a workflow_requires that wants them)."""
        return [t.requires() for _, t in self.iter_branch_tasks()]

    def workflow_output(self) -> dict[str, TargetCollection]:
        """``{"collection": <outputs of the selected branches>}``, built once per workflow."""
        cached = self.__dict__.get("_wf_output")
        if cached is not None:
            return cached
        outputs = {b: t.output() for b, t in self.iter_branch_tasks()}
        cls = self.output_collection_cls or TargetCollection
        result = {"collection": cls(outputs, threshold=self.acceptance)}
        if getattr(self, "_branch_map_cacheable", lambda: True)():
            self.__dict__["_wf_output"] = result
        return result

    def workflow_complete(self) -> bool:
        return self.workflow_output()["collection"].exists()

    def missing_branches(self) -> list[int]:
        """Selected branches whose outputs are not all present (one listing per directory)."""
        coll = self.workflow_output()["collection"]
        existing = set(coll.existing_keys())
        return [b for b in coll.keys() if b not in existing]

    def allowed_failures(self, n_total: int) -> float:
        """How many branches may fail: ``tolerance * n`` for fractions, else the count."""
        t = self.tolerance
        return t * n_total if t <= 1 else t

    def extra_status_lines(self, target_depth: int) -> list[str]:
        """Branch summary (and the workflow type's own lines) for ``--print-status``."""
        if self.is_branch():
            return []
        coll = self.workflow_output()["collection"]
        existing = set(coll.existing_keys())
        missing = [b for b in coll.keys() if b not in existing]
        lines = [f"branches: {len(coll)} selected, {len(existing)} present, {len(missing)} missing"
                 + (f" ({join_ranges(missing, max_ranges=8)})" if missing else "")]
        return lines + self.workflow_proxy.extra_status_lines(target_depth)


def _branch_value(branch: int, data: Any, name: str) -> Any:
    if isinstance(data, dict) and name in data:
        return data[name]
    if hasattr(data, name):
        return getattr(data, name)
    raise BranchError(f"branch {branch} has no value for workflow parameter '{name}' in its data {data!r}")


def workflow_property(func: Callable | None = None, cache: bool = False) -> Any:
    """
    A property computed on the workflow and shared by its branches: on a branch it returns the
    workflow's value. With *cache* (see :func:`cached_workflow_property`), computed once.
    """

    def decorator(fn: Callable) -> property:
        attr = f"_workflow_property_{fn.__name__}"

        @functools.wraps(fn)
        def getter(self: BaseWorkflow) -> Any:
            wf = self.as_workflow()
            if cache:
                if attr not in wf.__dict__:
                    wf.__dict__[attr] = fn(wf)
                return wf.__dict__[attr]
            return fn(wf)

        return property(getter)

    return decorator(func) if func is not None else decorator


def cached_workflow_property(func: Callable | None = None) -> Any:
    """A :func:`workflow_property` computed once per workflow."""
    return workflow_property(func, cache=True)


class _PendingTarget(luigi.Target):
    """Stands in for outputs that cannot be known before a dynamic workflow condition is met."""

    def exists(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "PendingTarget(waiting for the workflow condition)"


class DynamicWorkflowCondition:
    """
    A condition (usually: the workflow's requirements exist) on which the branch map depends.
    Until it is met the workflow has one placeholder branch and no known outputs; once met,
    ``create_branch_map`` / ``output`` / ``requires`` decorated through it are used.
    """

    def __init__(self, condition_fn: Callable):
        self.condition_fn = condition_fn
        functools.update_wrapper(self, condition_fn)
        self._attr = f"_condition_met_{condition_fn.__name__}"

    def is_met(self, task: BaseWorkflow) -> bool:
        wf = task.as_workflow()
        if wf.__dict__.get(self._attr):
            return True
        met = bool(self.condition_fn(wf))
        if met:
            wf.__dict__[self._attr] = True
        return met

    def __get__(self, obj: Any, objtype: Any = None) -> Any:
        if obj is None:
            return self
        return lambda: self.is_met(obj)

    def create_branch_map(self, fn: Callable) -> Callable:
        cond = self

        @functools.wraps(fn)
        def create_branch_map(task: BaseWorkflow) -> Any:
            if cond.is_met(task):
                task.__dict__.pop("_branch_map_cacheable", None)
                return fn(task)
            task.__dict__["_branch_map_cacheable"] = lambda: False
            return {0: None}

        return create_branch_map

    def output(self, fn: Callable) -> Callable:
        cond = self

        @functools.wraps(fn)
        def output(task: BaseWorkflow) -> Any:
            return fn(task) if cond.is_met(task) else _PendingTarget()

        return output

    def requires(self, fn: Callable) -> Callable:
        cond = self

        @functools.wraps(fn)
        def requires(task: BaseWorkflow) -> Any:
            return fn(task) if cond.is_met(task) else []

        return requires


def dynamic_workflow_condition(condition_fn: Callable | None = None) -> Any:
    """Decorator turning a workflow method into a :class:`DynamicWorkflowCondition`."""
    if condition_fn is None:
        return DynamicWorkflowCondition
    return DynamicWorkflowCondition(condition_fn)

