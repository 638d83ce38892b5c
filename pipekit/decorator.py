"""
Decorators for the ``run`` method of tasks, as in law: :func:`log`, :func:`safe_output`,
:func:`delay`, :func:`notify`, :func:`timeit`, :func:`localize` (and ``require_sandbox`` from
:mod:`pipekit.sandbox.base`), plus :func:`factory` to write your own.

Each decorator works with and without options (``@log`` or ``@safe_output(skip=KeyError)``);
options are always keywords. Decorators made with ``accept_generator=True`` also wrap ``run``
methods that yield dynamic requirements: luigi abandons such a ``run()`` when a yielded task is
incomplete and calls it again later, so the set-up part of the decorator runs once per task,
not once per attempt, and its clean-up part runs when ``run()`` really ends.
"""

from __future__ import annotations

import functools
import inspect
import logging
import os
import random
import socket
import sys
import time
import traceback
import uuid
from typing import Any, Callable

__all__ = [
    "factory",
    "log",
    "safe_output",
    "delay",
    "notify",
    "timeit",
    "localize",
    "require_sandbox",  # noqa: F822 (resolved lazily from pipekit.sandbox.base)
]

logger = logging.getLogger("pipekit.decorator")

# the innermost, undecorated function, kept on every wrapper
_ORIGINAL = "_pipekit_decorated_original"
# per-task storage of the set-up results of generator-accepting decorators
_STATES = "_pipekit_decorator_states"


def _callbacks(result: Any, decorator: Callable) -> tuple[Callable, Callable, Callable, Callable]:
    callbacks = tuple(result)
    if len(callbacks) == 3:
        return (*callbacks, lambda error, state: False)  # type: ignore[return-value]
    if len(callbacks) == 4:
        return callbacks  # type: ignore[return-value]
    raise TypeError(
        f"decorator {decorator.__name__} accepts generators and must return 3 or 4 callbacks "
        f"(before_call, call, after_call[, on_error]), got {len(callbacks)}"
    )


def _plain_wrapper(fn: Callable, original: Callable, decorator: Callable, opts: dict) -> Callable:
    @functools.wraps(fn)
    def wrapper(task: Any, *args: Any, **kwargs: Any) -> Any:
        if kwargs.pop("skip_decorators", False):
            return original(task, *args, **kwargs)
        if not opts["accept_generator"]:
            return decorator(fn, opts, task, *args, **kwargs)
        before, call, after, on_error = _callbacks(
            decorator(fn, opts, task, *args, **kwargs), decorator
        )
        state = before()
        try:
            result = call(state)
        except (Exception, KeyboardInterrupt) as e:
            if not on_error(e, state):
                raise
            result = None
        after(state)
        return result

    return wrapper


def _generator_wrapper(
    fn: Callable, original: Callable, decorator: Callable, opts: dict
) -> Callable:
    key = f"{decorator.__module__}.{decorator.__name__}.{uuid.uuid4().hex}"

    @functools.wraps(fn)
    def wrapper(task: Any, *args: Any, **kwargs: Any) -> Any:
        if kwargs.pop("skip_decorators", False):
            return (yield from original(task, *args, **kwargs))
        before, call, after, on_error = _callbacks(
            decorator(fn, opts, task, *args, **kwargs), decorator
        )
        states = task.__dict__.setdefault(_STATES, {})
        if key not in states:
            states[key] = before()
        state = states[key]
        try:
            gen = call(state)
            result = (yield from gen) if inspect.isgenerator(gen) else gen
        except GeneratorExit:
            raise  # luigi put run() aside until the yielded tasks are done: keep the state
        except (Exception, KeyboardInterrupt) as e:
            states.pop(key, None)
            if not on_error(e, state):
                raise
            result = None
        states.pop(key, None)
        after(state)
        return result

    return wrapper


def factory(**default_opts: Any) -> Callable:
    """
    Make a run-method decorator from ``decorator(fn, opts, task, *args, **kwargs)``.

    Without ``accept_generator=True`` the function calls ``fn(task, *args, **kwargs)`` itself.
    With it, it returns ``(before_call, call, after_call[, on_error])``: ``before_call()``
    returns a state, ``call(state)`` calls ``fn``, ``after_call(state)`` runs after success,
    ``on_error(error, state)`` after a failure (returning True swallows the error). A decorated
    method called with ``skip_decorators=True`` runs the undecorated function.
    """

    def make(decorator: Callable) -> Callable:
        @functools.wraps(decorator)
        def configure(fn: Callable | None = None, **opts: Any) -> Callable:
            options = {"accept_generator": False, "decorate_run": None, **default_opts, **opts}

            def decorate(fn: Callable) -> Callable:
                original = getattr(fn, _ORIGINAL, fn)
                is_gen = inspect.isgeneratorfunction(original)
                if is_gen and not options["accept_generator"]:
                    raise TypeError(
                        f"@{decorator.__name__} cannot decorate {original.__qualname__}: it yields "
                        "(dynamic requirements) and this decorator does not accept generators"
                    )
                make_wrapper = _generator_wrapper if is_gen else _plain_wrapper
                wrapper = make_wrapper(fn, original, decorator, options)
                setattr(wrapper, _ORIGINAL, original)
                return wrapper

            return decorate if fn is None else decorate(fn)

        return configure

    return make


# -- log ------------------------------------------------------------------------------------------


class _Tee:
    """A text stream writing to a log file and to the original stream."""

    def __init__(self, log: Any, stream: Any):
        self.log = log
        self.stream = stream

    def write(self, text: str) -> int:
        self.log.write(text)
        return self.stream.write(text)

    def flush(self) -> None:
        self.log.flush()
        self.stream.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


def _log_path(task: Any) -> str | None:
    from pipekit.parameter import is_no_param

    value = getattr(task, "log_file", None)
    if value is None or is_no_param(value) or value == "":
        value = getattr(task, "default_log_file", None)
    if value is None or is_no_param(value) or str(value) in ("", "-"):
        return None
    path = getattr(value, "path", value)
    return os.path.abspath(os.path.expandvars(os.path.expanduser(str(path))))


@factory(accept_generator=False)
def log(fn: Callable, opts: dict, task: Any, *args: Any, **kwargs: Any) -> Any:
    """
    Copy everything ``run`` prints (stdout and stderr, and the traceback of an error) to the
    file named by the task's ``log_file`` (parameter or attribute) or ``default_log_file``;
    ``"-"`` or empty: no log file. Output still reaches the terminal. Not for generators.
    """
    path = _log_path(task)
    if path is None:
        return fn(task, *args, **kwargs)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "a", buffering=1) as f:
        saved = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = _Tee(f, saved[0]), _Tee(f, saved[1])
        try:
            return fn(task, *args, **kwargs)
        except BaseException:
            traceback.print_exc(file=f)
            raise
        finally:
            sys.stdout, sys.stderr = saved


# -- safe_output, delay, timeit ----------------------------------------------------------------


@factory(skip=None, optional=True, accept_generator=True)
def safe_output(fn: Callable, opts: dict, task: Any, *args: Any, **kwargs: Any) -> Any:
    """
    Remove the task's outputs when ``run`` fails, unless the error is an instance of *skip*.
    With ``optional=False``, outputs marked ``optional`` are kept.
    """
    import luigi

    def on_error(error: BaseException, state: Any) -> bool:
        if opts["skip"] is not None and isinstance(error, opts["skip"]):
            return False
        for target in luigi.task.flatten(task.output()):
            if not opts["optional"] and getattr(target, "optional", False):
                continue
            target.remove()
        return False

    return (lambda: None), (lambda state: fn(task, *args, **kwargs)), (lambda state: None), on_error


@factory(t=5.0, stddev=0.0, pdf="gauss", accept_generator=True)
def delay(fn: Callable, opts: dict, task: Any, *args: Any, **kwargs: Any) -> Any:
    """
    Wait *t* seconds before ``run``; with *stddev* > 0 the wait is drawn from a Gaussian
    (``pdf="gauss"``) or uniformly from ``t ± stddev`` (``pdf="uniform"``).
    """

    def call(state: Any) -> Any:
        t, stddev = float(opts["t"]), float(opts["stddev"])
        if stddev > 0 and opts["pdf"] == "gauss":
            t = random.gauss(t, stddev)
        elif stddev > 0 and opts["pdf"] == "uniform":
            t = random.uniform(t - stddev, t + stddev)
        elif stddev > 0:
            raise ValueError(f"@delay: unknown pdf {opts['pdf']!r}; use 'gauss' or 'uniform'")
        time.sleep(max(0.0, t))
        return fn(task, *args, **kwargs)

    return (lambda: None), call, (lambda state: None)


def _task_logger(task: Any) -> logging.Logger:
    lg = getattr(task, "logger", None)
    return lg if isinstance(lg, logging.Logger) else logging.getLogger("pipekit.task")


@factory(accept_generator=True)
def timeit(fn: Callable, opts: dict, task: Any, *args: Any, **kwargs: Any) -> Any:
    """Log how long ``run`` took (also when it failed) through the task's logger."""
    from pipekit.humanize import human_duration

    def report(t0: float) -> None:
        _task_logger(task).info(f"runtime: {human_duration(time.perf_counter() - t0)}")

    def on_error(error: BaseException, t0: float) -> bool:
        report(t0)
        return False

    return time.perf_counter, (lambda t0: fn(task, *args, **kwargs)), report, on_error


# -- notify ---------------------------------------------------------------------------------------

#: options of @notify itself; all others are passed on to the notification functions
_NOTIFY_OWN = ("on_success", "on_failure", "accept_generator", "decorate_run")


def _notify_transports(task: Any) -> list[dict]:
    from pipekit.parameter import NotifyParameter
    from pipekit.structure import make_list

    transports: list[dict] = []
    for name, param in task.get_params():
        if isinstance(param, NotifyParameter) and getattr(task, name):
            try:
                transports += [t for t in make_list(param.get_transport()) if t]
            except Exception as e:  # a broken transport must not stop the task
                logger.warning(f"notification parameter --{name} has no usable transport: {e}")
    return transports


def notification_content(
    task: Any, success: bool, seconds: float, error: Any = None
) -> tuple[str, dict]:
    """The title and the ``{field: text}`` content that @notify sends."""
    from pipekit.humanize import human_duration

    family = task.get_task_family()
    title = f"Task {family} {'succeeded' if success else 'failed'}!"
    messages = task.__dict__.get("_message_cache") or []
    content = {
        "Task": repr(task),
        "Host": socket.gethostname(),
        "Duration": human_duration(seconds),
        "Last message": messages[-1] if messages else "-",
    }
    if error is not None:
        content["Traceback"] = "".join(
            traceback.format_exception(type(error), error, error.__traceback__)
        )
    return title, content


def _send_notifications(
    task: Any, opts: dict, transports: list[dict], t0: float, error: Any
) -> None:
    success = error is None
    if not transports or isinstance(error, KeyboardInterrupt):
        return
    if (success and not opts["on_success"]) or (not success and not opts["on_failure"]):
        return
    title, content = notification_content(task, success, time.perf_counter() - t0, error)
    message = "\n".join(f"{k}: {v}" for k, v in content.items())
    extra = {k: v for k, v in opts.items() if k not in _NOTIFY_OWN}
    for transport in transports:
        func = transport["func"]
        try:
            func(success, title, dict(content) if transport.get("raw") else message, **extra)
        except Exception as e:  # a notification failure is reported, never the task's failure
            logger.warning(
                f"notification through {getattr(func, '__qualname__', func)} failed: {e}"
            )


@factory(on_success=True, on_failure=True, accept_generator=True)
def notify(fn: Callable, opts: dict, task: Any, *args: Any, **kwargs: Any) -> Any:
    """
    After ``run``, send a notification through every notify parameter of the task that is set
    (``NotifyMailParameter``, ``NotifySlackParameter``, ...): task, host, duration, last
    message, and the traceback on failure. Further options go to the notification functions.
    """

    def before() -> tuple[list[dict], float]:
        return _notify_transports(task), time.perf_counter()

    def after(state: tuple[list[dict], float]) -> None:
        _send_notifications(task, opts, *state, error=None)

    def on_error(error: BaseException, state: tuple[list[dict], float]) -> bool:
        _send_notifications(task, opts, *state, error=error)
        return False

    return before, (lambda state: fn(task, *args, **kwargs)), after, on_error


# -- localize -------------------------------------------------------------------------------------


@factory(input=True, output=True, input_kwargs=None, output_kwargs=None, accept_generator=False)
def localize(fn: Callable, opts: dict, task: Any, *args: Any, **kwargs: Any) -> Any:
    """
    During ``run``, ``self.input()`` and ``self.output()`` return local stand-ins of the file
    targets (see :func:`pipekit.target.localize.localize_file_targets`): inputs are read from a
    local copy, outputs are written locally and moved into place only when ``run`` succeeds.
    The original methods stay reachable as ``input_unlocalized`` / ``output_unlocalized``.
    """
    import contextlib

    from pipekit.target.localize import localize_file_targets

    with contextlib.ExitStack() as stack:
        patched = []
        for which, mode in (("input", "r"), ("output", "w")):
            if not opts[which]:
                continue
            loc_kwargs = dict(opts[f"{which}_kwargs"] or {})
            loc_kwargs.setdefault("mode", mode)
            original = getattr(task, which)
            localized = stack.enter_context(localize_file_targets(original(), **loc_kwargs))
            task.__dict__[which] = functools.partial(_return, localized)
            task.__dict__[f"{which}_unlocalized"] = original
            patched.append(which)
        try:
            return fn(task, *args, **kwargs)
        finally:
            for which in patched:
                task.__dict__.pop(which, None)
                task.__dict__.pop(f"{which}_unlocalized", None)


def _return(value: Any) -> Any:
    return value


# -- require_sandbox (defined by the sandbox package) ---------------------------------------------


class SandboxUnavailableError(AttributeError):
    """
    ``require_sandbox`` was asked for but :mod:`pipekit.sandbox` is not installed (an
    AttributeError, so ``hasattr()`` answers False and ``from ... import`` an ImportError).
    """


def __getattr__(name: str) -> Any:
    if name == "require_sandbox":
        try:
            from pipekit.sandbox.base import require_sandbox
        except ModuleNotFoundError as e:
            if not (e.name or "").startswith("pipekit.sandbox"):
                raise
            raise SandboxUnavailableError(
                "pipekit.decorator.require_sandbox comes from pipekit.sandbox, which this "
                "version of pipekit does not include yet"
            ) from None
        globals()["require_sandbox"] = require_sandbox
        return require_sandbox
    raise AttributeError(f"module 'pipekit.decorator' has no attribute '{name}'")
