"""
Decorators for workflow classes: :func:`workflow_property` and :func:`cached_workflow_property`
(a value computed on the workflow and shared by its branches) and
:func:`dynamic_workflow_condition` (a branch map that can only be built once the workflow's
requirements exist).

They are re-exported by :mod:`pipekit.workflow.base`, where law users expect them.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, Callable

import luigi

from pipekit.structure import no_value

if TYPE_CHECKING:
    from pipekit.workflow.base import BaseWorkflow

__all__ = [
    "workflow_property",
    "cached_workflow_property",
    "dynamic_workflow_condition",
    "DynamicWorkflowCondition",
    "PendingTarget",
]


def workflow_property(
    func: Callable | None = None,
    attr: str | None = None,
    setter: bool = True,
    cache: bool = False,
    empty_value: Any = no_value,
) -> Any:
    """
    A property computed on the workflow (``self`` is always the workflow) and read by its
    branches. With *cache*, the value is computed once per workflow and stored in *attr*
    (default ``_workflow_[cached_]NAME``) unless it equals *empty_value*. With *setter*, assigning
    the property stores a value on the workflow. Same signature as law's.
    """

    def decorator(fn: Callable) -> property:
        name = attr or f"_workflow_{'cached_' if cache else ''}{fn.__name__}"

        @functools.wraps(fn)
        def getter(self: BaseWorkflow) -> Any:
            wf = self.as_workflow()
            if cache:
                value = wf.__dict__.get(name, empty_value)
                if value is empty_value:
                    value = fn(wf)
                    if value is not empty_value:
                        wf.__dict__[name] = value
                return value
            return fn(wf)

        def set_value(self: BaseWorkflow, value: Any) -> None:
            self.as_workflow().__dict__[name] = value

        return property(getter, set_value if setter else None, doc=fn.__doc__)

    return decorator(func) if func is not None else decorator


def cached_workflow_property(func: Callable | None = None, **kwargs: Any) -> Any:
    """A :func:`workflow_property` computed once per workflow and shared by all its branches."""
    kwargs["cache"] = True
    return workflow_property(func, **kwargs)


class PendingTarget(luigi.Target):
    """Stands in for outputs that cannot be known before a dynamic workflow condition is met."""

    def exists(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "PendingTarget(waiting for the workflow condition)"


class DynamicWorkflowCondition:
    """
    A condition (usually: the outputs of ``workflow_requires()`` exist) on which the branch map
    depends. Until it is met the workflow has one placeholder branch whose output never exists,
    so luigi runs the workflow's requirements first; once met, the ``create_branch_map``,
    ``output`` and ``requires`` methods decorated through it are used, in the same run.

    The condition is always evaluated on the workflow (``self.input()`` there is the output of
    ``workflow_requires()``), and a met condition is remembered per workflow.
    """

    def __init__(
        self,
        condition_fn: Callable,
        create_branch_map_fn: Callable | None = None,
        requires_fn: Callable | None = None,
        requires_eager_fn: Callable | None = None,
        output_fn: Callable | None = None,
        condition_as_workflow: bool = True,
        cache_met_condition: Any = True,
    ):
        # condition_as_workflow is accepted for law compatibility: pipekit always asks the workflow
        self.condition_fn = condition_fn
        self.cache_met_condition = bool(cache_met_condition)
        self._eager: Callable | None = requires_eager_fn
        self._attr = f"_condition_met_{condition_fn.__name__}"
        functools.update_wrapper(self, condition_fn)
        self._given = {
            "create_branch_map": create_branch_map_fn,
            "requires": requires_fn,
            "output": output_fn,
        }

    def __set_name__(self, owner: type, name: str) -> None:
        # functions handed to the constructor (law's keyword style) become methods of the class
        for attr, fn in self._given.items():
            if fn is not None:
                setattr(owner, attr, getattr(self, attr)(fn))

    def is_met(self, task: BaseWorkflow) -> bool:
        """Whether the condition holds for the workflow of *task*."""
        wf = task.as_workflow()
        if wf.__dict__.get(self._attr):
            return True
        met = bool(self.condition_fn(wf))
        if met and self.cache_met_condition:
            wf.__dict__[self._attr] = True
        return met

    def __get__(self, obj: Any, objtype: Any = None) -> Any:
        if obj is None:
            return self
        return lambda: self.is_met(obj)

    def create_branch_map(self, fn: Callable) -> Callable:
        """Decorate ``create_branch_map``: a placeholder map ``{0: None}`` until the condition holds."""
        cond = self

        @functools.wraps(fn)
        def create_branch_map(task: BaseWorkflow, *args: Any) -> Any:
            if cond.is_met(task):
                task.__dict__.pop("_placeholder_branch_map", None)
                return fn(task, *args)
            task.__dict__["_placeholder_branch_map"] = True
            return {0: None}

        return create_branch_map

    def output(self, fn: Callable) -> Callable:
        """Decorate the branch ``output``: a never-existing placeholder until the condition holds."""
        cond = self

        @functools.wraps(fn)
        def output(task: BaseWorkflow) -> Any:
            return fn(task) if cond.is_met(task) else PendingTarget()

        return output

    def requires(self, fn: Callable) -> Callable:
        """Decorate the branch ``requires``: the eager requirements (or none) until the condition holds."""
        cond = self

        @functools.wraps(fn)
        def requires(task: BaseWorkflow) -> Any:
            if cond.is_met(task):
                return fn(task)
            return cond._eager(task) if cond._eager is not None else []

        return requires

    def requires_eager(self, fn: Callable) -> Callable:
        """Decorate a method giving the branch requirements used while the condition does not hold."""
        self._eager = fn
        return fn


def dynamic_workflow_condition(condition_fn: Callable | None = None, **kwargs: Any) -> Any:
    """
    Decorator turning a workflow method into a :class:`DynamicWorkflowCondition`; usable bare
    (``@dynamic_workflow_condition``) or with law's keyword arguments.
    """
    if condition_fn is None:
        return lambda fn: DynamicWorkflowCondition(fn, **kwargs)
    return DynamicWorkflowCondition(condition_fn, **kwargs)
