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
import inspect
from typing import Any, Callable, Iterator

import luigi

from pipekit.dicts import DotDict
from pipekit.errors import BranchError, UsageError, WorkflowError
from pipekit.parameter import NO_STR
from pipekit.ranges import OPEN, join_ranges
from pipekit.target.collection import TargetCollection
from pipekit.task.base import Task
from pipekit.workflow.decorators import (
    DynamicWorkflowCondition,
    cached_workflow_property,
    dynamic_workflow_condition,
    workflow_property,
)
from pipekit.workflow.parameter import (
    BranchesParameter,
    WorkflowParameter,
    branch_value,
    resolve_workflow_params,
)

__all__ = [
    "BaseWorkflow",
    "BaseWorkflowProxy",
    "WorkflowParameter",
    "workflow_property",
    "cached_workflow_property",
    "dynamic_workflow_condition",
    "DynamicWorkflowCondition",
]

# names whose workflow-level implementation comes from the workflow proxy
_DISPATCHED = ("requires", "output", "run", "complete")

# parameters that select among branches or steer the workflow; the branch map never depends on them
_STEERING = frozenset({"branch", "branches", "acceptance", "tolerance", "pilot", "workflow"})

# branch maps shared by all instances of a workflow: (class, parameter key) -> map
_branch_map_cache: dict[tuple, dict[int, Any]] = {}


def _dispatching(name: str, branch_impl: Callable, own: bool) -> Callable:
    @functools.wraps(branch_impl)
    def method(self: BaseWorkflow, *args: Any, **kwargs: Any) -> Any:
        if self.branch == -1:
            return getattr(self.workflow_proxy, name)(*args, **kwargs)
        return branch_impl(self, *args, **kwargs)

    method._pipekit_branch_impl = branch_impl  # type: ignore[attr-defined]
    method._pipekit_own = own  # type: ignore[attr-defined]  # defined by the class it sits on
    return method


def _branch_level_impl(cls: type, name: str) -> Any:
    """The first implementation of *name* in the MRO, seen through the dispatchers."""
    for klass in cls.__mro__:
        attr = klass.__dict__.get(name)
        if attr is None:
            continue
        if not hasattr(attr, "_pipekit_branch_impl"):
            return attr
        if attr._pipekit_own:
            return attr._pipekit_branch_impl
    return None


class BaseWorkflowProxy:
    """
    The workflow-level behaviour of one workflow type. Subclasses set :attr:`workflow_type` and
    implement :meth:`run`; :meth:`requires`, :meth:`output` and :meth:`complete` have defaults.
    """

    workflow_type: str = ""

    def __init__(self, task: BaseWorkflow):
        self.task = task

    def requires(self) -> Any:
        """``workflow_requires()``, or nothing with ``--pilot`` (branches resolve their own)."""
        return {} if self.task.pilot else self.task.workflow_requires()

    def output(self) -> dict[str, TargetCollection]:
        return self.task.workflow_output()

    def complete(self) -> bool:
        result = self.task.workflow_complete()
        if result is NotImplemented:  # law's way of saying "use the default"
            return self.task.workflow_output()["collection"].exists()
        return result

    def run(self) -> Any:
        raise NotImplementedError

    def extra_status_lines(self, target_depth: int) -> list[str]:
        return []

    def ledger_key(self) -> str:
        """Identifies the workflow independently of ``--branches``: selections share a ledger."""
        import hashlib
        import json

        params = {k: v for k, v in self.task.to_str_params(only_significant=True).items()
                  if k not in ("branch", "branches")}
        raw = json.dumps([self.task.get_task_family(), sorted(params.items())])
        return hashlib.sha1(raw.encode()).hexdigest()[:10]

    def ledger_path(self) -> str | None:
        """The file recording this workflow's jobs or branch runs (None: this type keeps none)."""
        return None


class BaseWorkflow(Task):
    """
    Base of all workflows. Hooks a user overrides: :meth:`create_branch_map` (a dict
    ``{branch: data}``, a list or an int; an instance method, or law's classmethod taking the
    parameter values), :meth:`workflow_requires`, and the branch-level ``requires`` /
    ``output`` / ``run``.
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
        description="skip the workflow's own requirements (workflow_requires) and let the "
        "branches resolve theirs",
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
        # the branch-level method is the first one in the MRO that is not a dispatcher generated
        # here: it may come from the class itself, from a user's own Task base class, or from a
        # workflow class listed after another workflow type mixin (whose dispatcher must not
        # hide it)
        for name in _DISPATCHED:
            own = name in cls.__dict__
            impl = _branch_level_impl(cls, name)
            if callable(impl):
                setattr(cls, name, _dispatching(name, impl, own))

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
            raise UsageError(
                f"{cls.__name__} inherits no workflow type (e.g. pipekit.LocalWorkflow)"
            )
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

    # -- workflow parameters: selecting branches by value ---------------------------------------

    @classmethod
    def workflow_param_names(cls) -> list[str]:
        """Names of this class's :class:`WorkflowParameter` parameters."""
        names = cls.__dict__.get("_pipekit_wparams")
        if names is None:
            names = [n for n, p in cls.get_params() if isinstance(p, WorkflowParameter)]
            type.__setattr__(cls, "_pipekit_wparams", names)
        return names

    @classmethod
    def get_param_values(cls, params: list, args: tuple, kwargs: dict) -> list[tuple[str, Any]]:
        values = super().get_param_values(params, args, kwargs)
        if not cls.workflow_param_names():
            return values
        resolved = resolve_workflow_params(cls, dict(values))
        return [(name, resolved[name]) for name, _ in values]

    @classmethod
    def _provisional(cls, values: dict[str, Any]) -> BaseWorkflow:
        """An uninitialised workflow holding *values*: computes the map before instantiation."""
        inst = object.__new__(cls)
        vals = dict(values, branch=-1, branches=())
        inst.__dict__.update(vals)
        inst.param_kwargs = vals
        return inst

    # -- related tasks --------------------------------------------------------------------------

    def as_workflow(self) -> BaseWorkflow:
        """The workflow this branch belongs to (the task itself for a workflow)."""
        if self.is_workflow():
            return self
        wf = self.__dict__.get("_workflow_task")
        if wf is None:
            exclude = set(self.exclude_params_workflow) | set(self.workflow_param_names())
            wf = self.req(self, branch=-1, _exclude=exclude)
            self.__dict__["_workflow_task"] = wf
        return wf

    req_workflow = as_workflow

    def as_branch(self, branch: int | None = None) -> BaseWorkflow:
        """Branch *branch* (default: this branch, or the workflow's first selected branch)."""
        if branch is None:
            if self.is_branch():
                return self
            branch = next(iter(self.branch_map), 0)
        if self.is_branch() and branch == self.branch:
            return self
        return self.req_branch(branch)

    def req_branch(self, branch: int, **kwargs: Any) -> BaseWorkflow:
        """A branch task of this workflow, created with luigi's normal machinery."""
        if not isinstance(branch, int) or branch < 0:
            raise BranchError(
                f"req_branch() of {self.__class__.__name__} needs a branch number >= 0, got "
                f"{branch!r}; use as_workflow() for the workflow itself"
            )
        exclude = set(kwargs.pop("_exclude", ()) or ()) | set(self.exclude_params_branch)
        exclude |= set(self.workflow_param_names())
        # luigi may hand out a cached instance: it is not tied to this (maybe reduced) workflow
        return self.req(self, branch=branch, _exclude=exclude, **kwargs)

    # -- branch map -----------------------------------------------------------------------------

    def create_branch_map(self) -> Any:
        """The branch map: ``{branch: data}``, a list (indices become branches) or an int N."""
        raise NotImplementedError(f"{self.__class__.__name__} must implement create_branch_map()")

    def _call_create_branch_map(self) -> Any:
        if isinstance(inspect.getattr_static(type(self), "create_branch_map"), classmethod):
            # law's form: a classmethod receiving the parameter values
            return type(self).create_branch_map({n: getattr(self, n) for n, _ in self.get_params()})
        return self.create_branch_map()

    def _branch_map_key(self) -> tuple:
        values = []
        for name, param in self.get_params():
            if name in _STEERING or isinstance(param, WorkflowParameter):
                continue
            value = getattr(self, name)
            try:
                hash(value)
            except TypeError:
                value = param.serialize(value)
            values.append((name, value))
        return (self.__class__, tuple(values))

    @staticmethod
    def _sanitize_branch_map(raw: Any, owner: str) -> dict[int, Any]:
        shape = "a dict {branch: data}, a list or an int"
        if isinstance(raw, bool) or raw is None:
            raise WorkflowError(
                f"create_branch_map() of {owner} returned {raw!r}; it must return {shape}"
            )
        if isinstance(raw, int):
            if raw < 0:
                raise WorkflowError(
                    f"create_branch_map() of {owner} returned {raw}; an int is a number of branches >= 0"
                )
            return {i: i for i in range(raw)}
        if isinstance(raw, (list, tuple, range)):
            return dict(enumerate(raw))
        if isinstance(raw, dict):
            bad = [b for b in raw if not isinstance(b, int) or isinstance(b, bool) or b < 0]
            if bad:
                raise WorkflowError(
                    f"the branch map of {owner} has keys that are not branch numbers >= 0: "
                    f"{', '.join(map(repr, bad[:5]))}{' ...' if len(bad) > 5 else ''}; "
                    f"create_branch_map() must return {shape}"
                )
            return raw
        raise WorkflowError(
            f"create_branch_map() of {owner} returned a {type(raw).__name__}; it must return {shape}"
        )

    def get_branch_map(self, reduce_branches: bool = True) -> dict[int, Any]:
        """
        The branch map, computed once per workflow. With *reduce_branches*, a workflow with
        ``--branches`` gets only the selected branches.
        """
        if reduce_branches and self.is_workflow() and self.branches:
            reduced = self.__dict__.get("_reduced_map")
            if reduced is None:
                full = self.get_branch_map(reduce_branches=False)
                reduced = {b: full[b] for b in self.selected_branches(full)}
                if not self.has_placeholder_branch_map():
                    self.__dict__["_reduced_map"] = reduced
            return reduced
        key = self._branch_map_key()
        full = _branch_map_cache.get(key)
        if full is None:
            wf = self.as_workflow()
            full = self._sanitize_branch_map(wf._call_create_branch_map(), self.__class__.__name__)
            if not wf.__dict__.get("_placeholder_branch_map"):
                _branch_map_cache[key] = full
        return full

    @property
    def branch_map(self) -> dict[int, Any]:
        return self.get_branch_map()

    def has_placeholder_branch_map(self) -> bool:
        """Whether the branch map is a placeholder (a dynamic workflow condition is not met)."""
        return bool(self.as_workflow().__dict__.get("_placeholder_branch_map"))

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
        shown = join_ranges(keys, max_ranges=6) or "none"
        unknown = sorted(b for b in wanted if b not in full)
        if unknown:
            raise BranchError(
                f"--branches selects {join_ranges(unknown, max_ranges=6)}, which "
                f"{'is' if len(unknown) == 1 else 'are'} not in the branch map of "
                f"{self.__class__.__name__} (branches {shown})"
            )
        selected = [b for b in keys if b in wanted]
        if not selected:
            raise BranchError(
                f"--branches {self.get_param_values_repr('branches')} selects no branch of "
                f"{self.__class__.__name__} (branches {shown})"
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
        Raise early, with one readable error, when ``--workflow`` names a type the class lacks,
        ``create_branch_map()`` returns something unusable, or ``--branch`` / ``--branches``
        select branches that do not exist.
        """
        self.find_workflow_cls(self.workflow)
        self.get_branch_map(reduce_branches=False)
        if self.has_placeholder_branch_map():
            return  # the real map is known only after the workflow's requirements ran
        if self.is_branch():
            self.branch_data  # noqa: B018
        elif self.branches:
            self.selected_branches()

    def reset_branch_map(self) -> None:
        """Forget the branch map and everything derived from it (dynamic workflows)."""
        _branch_map_cache.pop(self._branch_map_key(), None)
        for attr in ("_wf_output", "_branch_tmpl", "_reduced_map"):
            self.__dict__.pop(attr, None)

    def get_branches_repr(self, max_ranges: int = 10) -> str:
        return join_ranges(self.branch_map, max_ranges=max_ranges)

    def get_branch_chunks(self, chunk_size: int) -> list[list[int]]:
        branches = list(self.branch_map)
        return [branches[i : i + chunk_size] for i in range(0, len(branches), chunk_size)]

    # -- branch tasks ---------------------------------------------------------------------------

    def _branch_template(self) -> dict[str, Any]:
        """Instance dict of one properly created branch, used to clone the others cheaply."""
        tmpl = self.__dict__.get("_branch_tmpl")
        if tmpl is None:
            first = next(iter(self.get_branch_map(reduce_branches=False)), 0)
            proto = self.req_branch(first)
            tmpl = {
                k: v
                for k, v in proto.__dict__.items()
                if k
                not in (
                    "_task_id",
                    "_Task__hash",
                    "_workflow_task",
                    "_workflow_proxy",
                    "_branch_tmpl",
                    "_wf_output",
                    "_reduced_map",
                )
            }
            self.__dict__["_branch_tmpl"] = tmpl
        return tmpl

    def branch_task(self, branch: int) -> BaseWorkflow:
        """
        Branch *branch* of this workflow, created by cloning a prototype branch instead of
        going through luigi's instantiation (the cost that dominates large workflows). It is
        equal to, and has the same task id and parameters as, ``self.req_branch(branch)``.
        """
        tmpl = self._branch_template()
        obj = object.__new__(self.__class__)
        d = obj.__dict__
        d.update(tmpl)
        d["branch"] = branch
        pk = dict(tmpl["param_kwargs"])
        pk["branch"] = branch
        wparams = self.workflow_param_names()
        if wparams:
            data = self.get_branch_map(reduce_branches=False)[branch]
            for name in wparams:
                d[name] = pk[name] = branch_value(branch, data, name, self.__class__.__name__)
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
        """The outputs of the workflow's requirements (also when called on a branch)."""
        return luigi.task.getpaths(self.as_workflow().workflow_proxy.requires())

    def requires_from_branch(self) -> Any:
        """
        The branch-level ``requires()`` evaluated on the workflow (as in law): useful in
        ``workflow_requires`` when the required tasks are themselves workflows.
        """
        if self.is_branch():
            raise WorkflowError(
                f"requires_from_branch() is for workflows, but {self!r} is a branch"
            )
        requires = type(self).requires
        return getattr(requires, "_pipekit_branch_impl", requires)(self)

    def workflow_complete(self) -> Any:
        """Completeness of the workflow: its collection exists (acceptance); may be overridden."""
        return self.workflow_output()["collection"].exists()

    def workflow_output(self) -> dict[str, TargetCollection]:
        """``{"collection": <outputs of the selected branches>}``, built once per workflow."""
        cached = self.__dict__.get("_wf_output")
        if cached is not None:
            return cached
        outputs = {b: t.output() for b, t in self.iter_branch_tasks()}
        cls = self.output_collection_cls or TargetCollection
        # a DotDict, as in law: self.output().collection works as well as ["collection"]
        result = DotDict(collection=cls(outputs, threshold=self.acceptance))
        if not self.has_placeholder_branch_map():
            self.__dict__["_wf_output"] = result
        return result

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
        lines = [
            f"branches: {len(coll)} selected, {len(existing)} present, {len(missing)} missing"
            + (f" ({join_ranges(missing, max_ranges=8)})" if missing else "")
        ]
        return lines + self.workflow_proxy.extra_status_lines(target_depth)
