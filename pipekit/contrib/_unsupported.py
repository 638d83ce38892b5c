"""
Stand-ins for law names whose systems pipekit deliberately does not drive (gLite's WMS is
retired; CMS CRAB needs CMS's own infrastructure). The names import, can be subclassed and
listed, so an analysis that mentions them loads; using one raises
:class:`pipekit.errors.NotSupportedError` with one line saying why and what to use instead.
"""

from __future__ import annotations

from typing import Any

from pipekit.errors import NotSupportedError
from pipekit.job.base import BaseJobFileFactory, BaseJobManager
from pipekit.workflow.remote import BaseRemoteWorkflow, BaseRemoteWorkflowProxy

__all__ = ["unsupported_callable", "unsupported_class", "unsupported_job_classes",
           "unsupported_workflow"]


def _raise(what: str, reason: str) -> None:
    raise NotSupportedError(f"{what} is not supported by pipekit: {reason}")


def unsupported_callable(name: str, reason: str, module: str = __name__) -> Any:
    """A function *name* that raises when called."""
    def fn(*args: Any, **kwargs: Any) -> Any:
        _raise(name, reason)

    fn.__name__ = fn.__qualname__ = name
    fn.__module__ = module
    fn.__doc__ = f"Not supported by pipekit: {reason}"
    return fn


def unsupported_class(name: str, reason: str, base: type = object, module: str = __name__) -> type:
    """A class *name* (subclass of *base*) whose instantiation raises."""
    def __new__(cls: type, *args: Any, **kwargs: Any) -> Any:  # noqa: N807
        _raise(name, reason)

    return type(name, (base,), {"__new__": __new__, "__module__": module,
                                "__doc__": f"Not supported by pipekit: {reason}"})


def unsupported_job_classes(prefix: str, reason: str, module: str = __name__) -> tuple[type, type]:
    """``(<prefix>JobManager, <prefix>JobFileFactory)`` that raise when created."""
    return (unsupported_class(f"{prefix}JobManager", reason, BaseJobManager, module),
            unsupported_class(f"{prefix}JobFileFactory", reason, BaseJobFileFactory, module))


def unsupported_workflow(name: str, workflow_type: str, reason: str,
                         module: str = __name__) -> type:
    """
    A remote workflow mixin *name*: analyses may subclass it (next to supported workflow types),
    but ``--workflow <workflow_type>`` fails with the reason before anything is submitted.
    """
    def __init__(self: Any, task: Any) -> None:
        _raise(f"--workflow {workflow_type} ({name})", reason)

    proxy = type(f"{name}Proxy", (BaseRemoteWorkflowProxy,),
                 {"workflow_type": workflow_type, "__init__": __init__})
    return type(name, (BaseRemoteWorkflow,), {
        "workflow_proxy_cls": proxy, "exclude_index": True, "__module__": module,
        "__doc__": f"law's {name}; not supported by pipekit: {reason}",
    })
