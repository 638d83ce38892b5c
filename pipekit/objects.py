"""
law.util's helpers on Python objects and shared state: :func:`classproperty`,
:func:`patch_object` (set an attribute for a block), :func:`empty_context`,
:func:`is_classmethod`, the process-wide locks (``default_lock``, ``io_lock``,
``console_lock``), a lazily started multiprocessing manager (``mp_manager``) and
:func:`common_task_params`.
"""

from __future__ import annotations

import contextlib
import inspect
import threading
import time
from typing import Any, Callable, Iterator

from pipekit.structure import no_value

__all__ = [
    "ClassPropertyDescriptor", "classproperty", "patch_object", "empty_context", "is_classmethod",
    "perf_counter", "default_lock", "io_lock", "console_lock", "MPManager", "DeferredManager",
    "mp_manager", "common_task_params",
]

default_lock = threading.Lock()
io_lock = threading.Lock()
console_lock = threading.Lock()

perf_counter = time.perf_counter


class ClassPropertyDescriptor:
    """The descriptor behind :func:`classproperty` (read-only)."""

    def __init__(self, fget: Callable, fset: Callable | None = None):
        self.fget = fget
        self.fset = fset

    def __get__(self, obj: Any, cls: type | None = None) -> Any:
        if cls is None:
            cls = type(obj)
        fget = self.fget.__get__(obj, cls) if hasattr(self.fget, "__get__") else self.fget
        return fget()


def classproperty(func: Callable) -> ClassPropertyDescriptor:
    """A property of the class: ``Cls.name`` calls *func(cls)*."""
    if not isinstance(func, (classmethod, staticmethod)):
        func = classmethod(func)
    return ClassPropertyDescriptor(func)


@contextlib.contextmanager
def empty_context(obj: Any = None) -> Iterator[Any]:
    """A context that does nothing and yields *obj*."""
    yield obj


@contextlib.contextmanager
def patch_object(obj: Any, attr: str, value: Any, reset: bool = True, orig: Any = no_value,
                 lock: Any = False) -> Iterator[Any]:
    """
    Set ``obj.attr = value`` for the block and restore the original (``getattr``, or *orig*)
    after it unless *reset* is False; an attribute that did not exist is deleted again. With
    *lock* (True: ``default_lock``, or a lock), the block holds the lock.
    """
    if orig is no_value:
        orig = getattr(obj, attr, no_value)
    held = (default_lock if lock is True else lock) if lock else contextlib.nullcontext()
    with held:
        setattr(obj, attr, value)
        try:
            yield obj
        finally:
            if reset:
                if orig is no_value:
                    with contextlib.suppress(AttributeError):
                        delattr(obj, attr)
                else:
                    setattr(obj, attr, orig)


def is_classmethod(func: Any, cls: type | None = None) -> bool:
    """
    True when *func* is a classmethod of *cls* (default: the class named in *func*'s qualified
    name, looked up in its module).
    """
    if cls is None:
        owner = getattr(func, "__self__", None)
        if isinstance(owner, type):
            cls = owner
        else:
            qualname = getattr(func, "__qualname__", "")
            module = inspect.getmodule(func)
            if "." not in qualname or module is None:
                return False
            cls = module
            for part in qualname.split(".")[:-1]:
                cls = getattr(cls, part, None)
            if not isinstance(cls, type):
                return False
    name = getattr(func, "__name__", None)
    if name is None:
        raise AttributeError(f"{func!r} has no __name__")
    for klass in cls.__mro__:
        if name in vars(klass):
            return isinstance(vars(klass)[name], classmethod)
    return False


def MPManager(**kwargs: Any) -> Any:  # noqa: N802 - law's name
    """A started ``multiprocessing`` SyncManager; *kwargs* go to its constructor."""
    import multiprocessing.managers  # costly; only when a manager is really wanted

    manager = multiprocessing.managers.SyncManager(**kwargs)
    manager.start()
    return manager


_MANAGED = {"list", "dict", "Namespace", "Lock", "RLock", "Semaphore", "BoundedSemaphore",
            "Condition", "Event", "Barrier", "Queue", "Value", "Array"}


class DeferredManager:
    """
    A SyncManager started only when one of its shared objects is first asked for (so importing
    code that defines one starts no process); :meth:`get` caches shared objects by name.
    """

    def __init__(self, **kwargs: Any):
        self.kwargs = kwargs
        self._manager: Any = None
        self._objects: dict[str, Any] = {}

    def _start(self) -> None:
        if self._manager is None:
            self._manager = MPManager(**self.kwargs)

    def get(self, name: str, obj_type: str, *args: Any, **kwargs: Any) -> Any:
        """The shared object *name*, created as ``self.<obj_type>(*args, **kwargs)`` once."""
        if name not in self._objects:
            self._objects[name] = getattr(self, obj_type)(*args, **kwargs)
        return self._objects[name]

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("_"):
            raise AttributeError(attr)
        if attr in _MANAGED:
            self._start()
        if self._manager is None:
            raise AttributeError(f"'{attr}' of the multiprocessing manager: the manager is not "
                                 "started yet; ask for a shared object (list, dict, Lock, ...) first")
        return getattr(self._manager, attr)


#: a manager for objects shared between processes, started on first use
mp_manager = DeferredManager(address=("localhost", 0))


def common_task_params(task_instance: Any, task_cls: type) -> dict[str, Any]:
    """The values of *task_instance*'s parameters that *task_cls* has too (not re-parsed)."""
    names = {name for name, _ in task_cls.get_params()}
    return {name: getattr(task_instance, name) for name, _ in task_instance.get_params()
            if name in names}
