"""
The task classes: :class:`Task`, :class:`ExternalTask`, :class:`WrapperTask` and their metaclass
:class:`Register`.

They are luigi tasks (requires / output / run, parameters as command-line options). pipekit adds
law's ``req()`` for passing parameters down a dependency chain, index control, progress and
message publishing, and two speed-ups that do not change behaviour: ``get_params()`` is cached per
class and a task's id is computed on first use.
"""

from __future__ import annotations

import contextlib
import fnmatch
import logging
import sys
from collections import deque
from typing import Any, Iterator

import luigi
import luigi.task
import luigi.task_register

from pipekit.structure import iter_leaves

__all__ = ["Register", "BaseTask", "Task", "ExternalTask", "WrapperTask", "set_cli_values",
           "cli_values_for", "flatten_outputs"]

logger = logging.getLogger("pipekit.task")

# values given on the command line, by task family: {family: {param_name: raw string}}
_cli_values: dict[str, dict[str, str]] = {}


def set_cli_values(values: dict[str, dict[str, str]]) -> None:
    """Record command-line values per task family (used by ``prefer_params_cli``)."""
    _cli_values.clear()
    _cli_values.update(values)


def cli_values_for(family: str) -> dict[str, str]:
    """Command-line values recorded for *family*."""
    return _cli_values.get(family, {})


def flatten_outputs(struct: Any) -> list[Any]:
    """Leaves of an output structure; a target collection stays one leaf."""
    return list(iter_leaves(struct))


def _parse_given_string(cls: type, name: str, param: luigi.Parameter, value: str) -> Any:
    """*value* parsed by *param*; a value it cannot read is a ParameterError naming both."""
    if type(param).parse is luigi.Parameter.parse:
        return value  # a plain string parameter: nothing to parse, and faster
    try:
        return param.parse(value)
    except Exception as e:  # luigi's parameters raise ValueError, TypeError, json errors, ...
        from pipekit.errors import ParameterError

        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise ParameterError(f"invalid value {value!r} for parameter '{name}' of "
                             f"{cls.get_task_family()} ({type(param).__name__}: {reason})") from None


def _matches(name: str, patterns: set[str]) -> bool:
    return name in patterns or any(fnmatch.fnmatchcase(name, p) for p in patterns if "*" in p or "?" in p)


def _unite_exclusions(bases: tuple, classdict: dict) -> None:
    """
    Make each ``exclude_params_*`` set of a new class the union of its own and those of all its
    bases, then drop the names its own ``include_params_*`` lists (law's rule). So a workflow
    inheriting two workflow types excludes the parameters of both, and a user's own set adds to
    the inherited ones instead of replacing them.
    """
    names = {a for b in bases for k in b.__mro__ for a in vars(k) if a.startswith("exclude_params_")}
    for name in names:
        own = classdict.get(name)
        if own is not None and not isinstance(own, (set, frozenset)):
            continue  # not a set (a property, say): the class knows what it does
        merged = set(own or ())
        for base in bases:  # each base is already united with its own bases
            value = getattr(base, name, None)
            if isinstance(value, (set, frozenset)):
                merged |= value
        classdict[name] = merged
    for name, included in list(classdict.items()):
        target = "exclude" + name[len("include"):]
        if name.startswith("include_params_") and isinstance(classdict.get(target), set):
            classdict[target] = classdict[target] - set(included)


class Register(luigi.task_register.Register):
    """
    luigi's task metaclass. ``exclude_index`` is not inherited: every class says for itself
    whether ``pipekit index`` lists it (default: listed). ``exclude_params_*`` sets add up over
    the bases, ``include_params_*`` removes inherited names (see :func:`_unite_exclusions`).
    """

    def __new__(metacls, classname: str, bases: tuple, classdict: dict, **kwargs: Any):
        classdict.setdefault("exclude_index", False)
        _unite_exclusions(bases, classdict)
        return super().__new__(metacls, classname, bases, classdict, **kwargs)


class BaseTask(luigi.Task, metaclass=Register):
    """Parameter passing (``req``), cached parameter lookup and lazy task ids."""

    exclude_index = True

    #: parameters never passed on by :meth:`req` (on either side)
    exclude_params_req: set[str] = set()
    #: parameters this class does not take from the instance it is required by
    exclude_params_req_get: set[str] = set()
    #: parameters this class does not hand on to tasks it requires
    exclude_params_req_set: set[str] = set()
    #: parameters hidden in ``repr()``
    exclude_params_repr: set[str] = set()
    #: parameters hidden in ``repr()`` when they hold an empty value
    exclude_params_repr_empty: set[str] = set()
    #: parameters not written to the index (completion)
    exclude_params_index: set[str] = set()
    #: parameters for which a value given on the command line beats the value passed by req()
    prefer_params_cli: set[str] = set()
    #: record what made each output (True / False); None: as ``[core] provenance`` in law.cfg
    track_provenance: bool | None = None

    # -- speed: cached parameter list, lazy task id ----------------------------------------------

    @classmethod
    def get_params(cls) -> list[tuple[str, luigi.Parameter]]:
        cached = cls.__dict__.get("_pipekit_params")
        if cached is None:
            cached = super().get_params()
            type.__setattr__(cls, "_pipekit_params", cached)
        return list(cached)

    @classmethod
    def get_param_names(cls) -> list[str]:
        return [name for name, _ in cls.get_params()]

    # -- parameter values: law's hooks and parsing of strings given in Python -------------------

    @classmethod
    def modify_param_args(cls, params: list, args: tuple, kwargs: dict) -> tuple[list, tuple, dict]:
        """Hook: change the arguments of an instantiation before luigi assigns them."""
        return params, args, kwargs

    @classmethod
    def modify_param_values(cls, params: dict[str, Any]) -> dict[str, Any]:
        """Hook: change the parameter values (a dict by name) before the instance is made."""
        return params

    @classmethod
    def get_param_values(cls, params: list, args: tuple, kwargs: dict) -> list[tuple[str, Any]]:
        """
        luigi's assignment of values to parameters, plus law's rules: a string given in Python
        for a parameter that is not a plain string (``T(n="5")`` with an ``IntParameter``) is
        parsed as on the command line, and :meth:`modify_param_values` may change the values.
        """
        params, args, kwargs = cls.modify_param_args(params, args, kwargs)
        values = super().get_param_values(params, args, kwargs)
        by_name = dict(params)
        parsed = []
        for name, value in values:
            if isinstance(value, str) and name in by_name:
                value = _parse_given_string(cls, name, by_name[name], value)
            parsed.append((name, value))
        names = set(by_name)
        modified = cls.modify_param_values(dict(parsed))
        return [(name, value) for name, value in modified.items() if name in names]

    @property
    def task_id(self) -> str:
        tid = self.__dict__.get("_task_id")
        if tid is None:
            tid = luigi.task.task_id_str(
                self.get_task_family(), self.to_str_params(only_significant=True, only_public=True)
            )
            self.__dict__["_task_id"] = tid
        return tid

    @task_id.setter
    def task_id(self, value: str) -> None:
        self.__dict__["_task_id"] = value

    def __hash__(self) -> int:
        return hash(self.task_id)

    def __eq__(self, other: Any) -> bool:
        return self.__class__ == other.__class__ and self.task_id == other.task_id

    # -- requiring other tasks ------------------------------------------------------------------

    @classmethod
    def req_params(cls, inst: luigi.Task, _exclude: Any = None, _prefer_cli: Any = None,
                   _skip_task_excludes: bool = False, **kwargs: Any) -> dict[str, Any]:
        """
        Parameter values for an instance of this class required by *inst*: the values of all
        parameters both classes have, minus exclusions, updated by *kwargs*.
        """
        own = {name for name, _ in cls.get_params()}
        params = {name: getattr(inst, name) for name, _ in inst.get_params() if name in own}
        exclude = set() if _exclude is None else set([_exclude] if isinstance(_exclude, str) else _exclude)
        if not _skip_task_excludes:
            exclude |= set(cls.exclude_params_req) | set(cls.exclude_params_req_get)
            exclude |= set(getattr(inst, "exclude_params_req", ())) | set(getattr(inst, "exclude_params_req_set", ()))
        if exclude:
            params = {k: v for k, v in params.items() if not _matches(k, exclude)}
        params.update(kwargs)
        prefer = set(cls.prefer_params_cli or ()) if _prefer_cli is None else set(_prefer_cli)
        if prefer:
            given = cli_values_for(cls.get_task_family())
            for name in prefer:
                if name in given and name not in kwargs:
                    params.pop(name, None)
        return params

    @classmethod
    def req(cls, inst: luigi.Task, **kwargs: Any) -> BaseTask:
        """An instance of this class with parameters taken from *inst* (see :meth:`req_params`)."""
        return cls(**cls.req_params(inst, **kwargs))

    # -- completeness ---------------------------------------------------------------------------

    def complete(self) -> bool:
        outputs = [o for o in flatten_outputs(self.output()) if not getattr(o, "optional", False)]
        if not outputs:
            logger.warning("%r has no outputs and no complete() method; treating it as complete", self)
            return True
        return all(o.exists() for o in outputs)

    # -- representation -------------------------------------------------------------------------

    def _repr_params(self, all_params: bool = False) -> list[tuple[str, str]]:
        out = []
        for name, param in self.get_params():
            if not all_params and (not param.significant or name in self.exclude_params_repr):
                continue
            value = getattr(self, name)
            if name in self.exclude_params_repr_empty and value in (None, "", (), "NO_STR", -1):
                continue
            out.append((name, param.serialize(value)))
        return out

    def repr(self, all_params: bool = False, color: bool = False) -> str:
        params = ", ".join(f"{k}={v}" for k, v in self._repr_params(all_params))
        return f"{self.get_task_family()}({params})"

    def __repr__(self) -> str:
        return self.repr()

    def cli_args(self, exclude: Any = None, replace: dict[str, Any] | None = None,
                 skip_empty_bools: bool = True) -> dict[str, str]:
        """
        This task's parameters as command-line arguments, as law returns them: an ordered dict
        ``{"--n": "5", ...}``. *exclude* takes names or patterns; *replace* maps names to values
        used instead of the task's; a bool parameter holding None is left out unless
        *skip_empty_bools* is False.
        """
        from pipekit.structure import make_list

        exclude = set(make_list(exclude)) if exclude is not None else set()
        replace = replace or {}
        args: dict[str, str] = {}
        for name, param in self.get_params():
            if exclude and _matches(name, exclude):
                continue
            raw = replace[name] if name in replace else getattr(self, name)
            if skip_empty_bools and isinstance(param, luigi.BoolParameter) and raw is None:
                continue
            args[f"--{name.replace('_', '-')}"] = str(param.serialize(raw))
        return args

    @property
    def live_task_id(self) -> str:
        """The task id for the parameter values the instance holds now (they may have changed)."""
        params = {name: getattr(self, name) for name in self.param_kwargs}
        str_params = {name: p.serialize(params[name]) for name, p in self.get_params()
                      if p.significant and name in params
                      and getattr(p, "visibility", None) != luigi.parameter.ParameterVisibility.PRIVATE}
        return luigi.task.task_id_str(self.get_task_family(), str_params)

    # -- running from Python, as law run would --------------------------------------------------

    @classmethod
    def _law_run_inst(cls, inst: BaseTask, _exclude: Any = None, _replace: Any = None,
                      _global: Any = None, _run_kwargs: dict | None = None) -> bool:
        from pipekit.cli.run import run_argv
        from pipekit.structure import make_list

        argv = [inst.get_task_family()]
        for key, value in inst.cli_args(exclude=_exclude, replace=_replace).items():
            argv += [key, value]
        if _global:
            argv += [str(a) for a in make_list(_global)]
        # the task's own class, not a lookup by family: a class defined in a notebook or
        # shadowed by another registration still runs as itself
        return run_argv(argv, _task_class=type(inst), **(_run_kwargs or {})) == 0

    @classmethod
    def law_run_inst(cls, _exclude: Any = None, _replace: Any = None, _global: Any = None,
                     _run_kwargs: dict | None = None, **kwargs: Any) -> bool:
        """
        Make an instance with *kwargs* and run it as ``law run`` would (scheduling, summary,
        interactive options in *_global*); True when everything succeeded.
        """
        return cls._law_run_inst(cls(**kwargs), _exclude=_exclude, _replace=_replace,
                                 _global=_global, _run_kwargs=_run_kwargs)

    def law_run(self, _exclude: Any = None, _replace: Any = None, _global: Any = None,
                _run_kwargs: dict | None = None, **kwargs: Any) -> bool:
        """
        Run this task (or, with *kwargs*, ``req(self, **kwargs)``) as ``law run`` would; True
        when everything succeeded. ``_global=["--print-status", "1"]`` adds options.
        """
        inst = self.req(self, **kwargs) if kwargs else self
        return self._law_run_inst(inst, _exclude=_exclude, _replace=_replace, _global=_global,
                                  _run_kwargs=_run_kwargs)

    # -- dependency traversal -------------------------------------------------------------------

    def walk_deps(self, max_depth: int = -1, order: str = "level") -> Iterator[tuple[luigi.Task, int]]:
        """Yield ``(task, depth)`` for this task and its requirements, breadth first."""
        seen: set[str] = set()
        queue: deque = deque([(self, 0)])
        while queue:
            task, depth = queue.popleft()
            if task.task_id in seen:
                continue
            seen.add(task.task_id)
            yield task, depth
            if max_depth < 0 or depth < max_depth:
                queue.extend((dep, depth + 1) for dep in luigi.task.flatten(task.requires()))


@BaseTask.event_handler(luigi.Event.START)
def _provenance_start(task: BaseTask) -> None:
    from pipekit.provenance.hooks import on_task_start

    on_task_start(task)


@BaseTask.event_handler(luigi.Event.SUCCESS)
def _provenance_success(task: BaseTask) -> None:
    from pipekit.provenance.hooks import on_task_success

    on_task_success(task)


class Task(BaseTask):
    """
    The base of analysis tasks. Adds messages and progress that show in the luigi scheduler
    (and on stdout), and a logger per task.
    """

    exclude_index = True
    #: how many published messages the scheduler keeps
    message_cache_size = 10

    @property
    def logger(self) -> logging.Logger:
        return logging.getLogger(f"pipekit.task.{self.get_task_family()}")

    def publish_message(self, msg: Any, stdout: Any = True, scheduler: bool = True) -> None:
        """
        Print *msg* (to the current ``sys.stdout``, or to the stream given as *stdout*; False or
        None: not at all) and show it as the task's status message in the scheduler.
        """
        msg = str(msg)
        if stdout is True:
            stdout = sys.stdout  # looked up now: redirected output (notebooks, capture) gets it
        if stdout:
            stdout.write(msg + "\n")
            stdout.flush()
        if scheduler and callable(getattr(self, "set_status_message", None)):
            cache = self.__dict__.setdefault("_message_cache", [])
            cache.append(msg)
            del cache[: max(0, len(cache) - self.message_cache_size)]
            self.set_status_message("\n".join(cache))

    def publish_progress(self, percentage: float) -> None:
        """Report progress (0-100) to the scheduler, rounded to whole percent."""
        pct = int(round(percentage))
        if pct != self.__dict__.get("_last_progress") and callable(getattr(self, "set_progress_percentage", None)):
            self.__dict__["_last_progress"] = pct
            self.set_progress_percentage(pct)

    def create_progress_callback(self, n_total: int, reach: tuple[float, float] = (0, 100),
                                 precision: float = 1):
        """A function ``callback(i)`` that publishes progress for step *i* of *n_total*."""
        lo, hi = reach

        def callback(i: int) -> None:
            self.publish_progress(lo + (hi - lo) * float(i + 1) / max(1, n_total))

        return callback

    @contextlib.contextmanager
    def publish_step(self, msg: Any, success_message: str = "done", fail_message: str = "failed",
                     runtime: bool = True, scheduler: bool = True,
                     flush_cache: bool = False) -> Iterator[None]:
        """
        Publish *msg*, run the block, then publish *success_message* or *fail_message* (with
        the time it took when *runtime*), as law does.
        """
        import time

        from pipekit.humanize import describe_duration

        self.publish_message(msg, scheduler=scheduler)
        t0 = time.perf_counter()
        ok = False
        try:
            yield
            ok = True
        finally:
            end = success_message if ok else fail_message
            if runtime:
                end = f"{end} (took {describe_duration(seconds=time.perf_counter() - t0)})"
            self.publish_message(end, scheduler=scheduler)

    def iter_progress(self, iterable: Any, n_total: int, reach: tuple[float, float] = (0, 100),
                      precision: float = 1, msg: Any = None) -> Iterator[Any]:
        """Iterate *iterable*, publishing progress after each item (inside a step *msg*)."""
        callback = self.create_progress_callback(n_total, reach=reach, precision=precision)
        context = self.publish_step(msg) if msg else contextlib.nullcontext()
        with context:
            for i, value in enumerate(iterable):
                yield value
                callback(i)

    def localize_input(self, *args: Any, **kwargs: Any) -> Any:
        """``localize_file_targets(self.input(), ...)``: local copies of the inputs for a block."""
        from pipekit.target.localize import localize_file_targets

        return localize_file_targets(self.input(), *args, **kwargs)

    def localize_output(self, *args: Any, **kwargs: Any) -> Any:
        """``localize_file_targets(self.output(), ...)``: local paths replacing the outputs."""
        from pipekit.target.localize import localize_file_targets

        return localize_file_targets(self.output(), *args, **kwargs)


class ExternalTask(Task):
    """A task whose outputs are produced outside the pipeline (it has no ``run``)."""

    exclude_index = True
    run = None  # type: ignore[assignment]


class WrapperTask(Task):
    """A task that only bundles requirements; complete when they all are."""

    exclude_index = True

    def complete(self) -> bool:
        return all(r.complete() for r in luigi.task.flatten(self.requires()))

    def output(self) -> Any:
        return [t.output() for t in luigi.task.flatten(self.requires())]
