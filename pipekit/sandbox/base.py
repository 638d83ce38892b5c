"""
Sandboxes: run a task's ``run()`` in another software environment — the environment of a bash
script, a virtualenv, a Docker container or a Singularity/Apptainer image.

A :class:`SandboxTask` names its sandbox as ``"TYPE::NAME"`` (class attribute ``sandbox`` or
the ``--sandbox`` parameter). Its requirements are resolved by the outer process as usual; when
luigi calls ``run()``, pipekit runs ``pipekit run`` of the same task with the same parameters
inside the sandbox and waits for it, with a banner on entering and leaving. Inside, the task
runs directly: its requirements are neither checked nor run again (``deps()`` is empty there),
and in container sandboxes its ``input()`` / ``output()`` point at staged copies that the outer
process moves into place afterwards (see :mod:`pipekit.sandbox.staging`).

The inner process is marked by environment variables named as in law (``LAW_SANDBOX``,
``LAW_SANDBOX_SWITCHED=1``, ...; see :mod:`pipekit.sandbox.protocol`).

Configuration: ``[TYPE_sandbox]`` (options of all sandboxes of a type), ``[TYPE_sandbox_env]``
(variables set in the sandbox: ``NAME = value``; a bare ``NAME`` or a pattern such as ``X509_*``
forwards the host's value), ``[TYPE_sandbox_volumes]`` (containers: ``host_path = path inside``),
and ``[TYPE_sandbox_NAME]`` etc. to override them for one sandbox name.
"""

from __future__ import annotations

import fnmatch
import functools
import importlib
import os
import shlex
import sys
import time
from typing import Any, Callable

import luigi

from pipekit.errors import CommandError, SandboxError, UsageError
from pipekit.parameter import NO_STR
from pipekit.sandbox.protocol import (
    current_sandbox,
    inner_args,
    inside_sandbox,
    manifest_for,
    other_family_values,
    shell_wrap,
)
from pipekit.sandbox.runtime import BOOTSTRAP_FAILED, bootstrap_command
from pipekit.sandbox.staging import StageArea, iter_target_leaves, staged_struct
from pipekit.task.base import Task

__all__ = [
    "Sandbox",
    "SandboxTask",
    "SandboxKeyError",
    "require_sandbox",
    "inside_sandbox",
    "current_sandbox",
    "shell_wrap",
]

# modules that define the built-in sandbox types, imported when a type is first used
_BUILTIN_TYPES = {
    "bash": "pipekit.sandbox.bash",
    "venv": "pipekit.sandbox.venv",
    "docker": "pipekit.sandbox.docker",
    "singularity": "pipekit.sandbox.singularity",
    "apptainer": "pipekit.sandbox.singularity",
}

BANNER_WIDTH = 80


class SandboxKeyError(SandboxError, UsageError):
    """A sandbox key is malformed, names an unknown type or is not valid for the task (exit 2)."""


class Sandbox:
    """
    One kind of software environment. A subclass sets :attr:`sandbox_type`, which registers it
    for keys ``"TYPE::NAME"``, and implements :meth:`run_task`; container types set
    :attr:`stages_targets` so inputs and outputs are staged through a shared directory.
    """

    #: the TYPE in "TYPE::NAME"
    sandbox_type: str = ""
    #: whether the sandbox sees the host's files only through staging (containers)
    stages_targets: bool = False
    delimiter = "::"
    #: lines of output shown in the error when the sandboxed process fails
    tail_lines = 15

    _registry: dict[str, type[Sandbox]] = {}

    def __init_subclass__(cls, **kwargs: Any):
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("sandbox_type"):
            Sandbox._registry[cls.sandbox_type] = cls

    # -- keys and the registry ------------------------------------------------------------------

    @classmethod
    def split_key(cls, key: str) -> tuple[str, str]:
        parts = str(key).split(cls.delimiter, 1)
        if len(parts) != 2 or not parts[0].strip() or not parts[1].strip() or "," in str(key):
            raise SandboxKeyError(
                f"invalid sandbox '{key}': write it as TYPE::NAME, e.g. 'bash::setup.sh', "
                "'venv::/path/to/venv' or 'docker::image:tag'"
            )
        return parts[0].strip(), parts[1].strip()

    @classmethod
    def join_key(cls, sandbox_type: str, name: str) -> str:
        return f"{sandbox_type}{cls.delimiter}{name}"

    @classmethod
    def known_types(cls) -> list[str]:
        return sorted(set(cls._registry) | set(_BUILTIN_TYPES))

    @classmethod
    def type_class(cls, sandbox_type: str) -> type[Sandbox]:
        """The class registered for *sandbox_type* (importing built-in types on demand)."""
        if sandbox_type not in cls._registry and sandbox_type in _BUILTIN_TYPES:
            importlib.import_module(_BUILTIN_TYPES[sandbox_type])
        try:
            return cls._registry[sandbox_type]
        except KeyError:
            raise SandboxKeyError(
                f"unknown sandbox type '{sandbox_type}'; known types: {', '.join(cls.known_types())}"
            ) from None

    @classmethod
    def new(cls, key: str, task: Any = None) -> Sandbox:
        """The sandbox for *key* (``"TYPE::NAME"``), optionally bound to *task*."""
        sandbox_type, name = cls.split_key(key)
        return cls.type_class(sandbox_type)(name, task=task)

    def __init__(self, name: str, task: Any = None):
        self.name = name
        self.task = task

    @property
    def key(self) -> str:
        return self.join_key(self.sandbox_type, self.name)

    def __str__(self) -> str:
        return self.key

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.key!r})"

    def is_active(self) -> bool:
        """Whether this process already runs inside this sandbox."""
        return self.key in os.environ.get("LAW_SANDBOX", "").split(",")

    # -- configuration --------------------------------------------------------------------------

    @property
    def config_section_prefix(self) -> str:
        return self.sandbox_type

    def _sections(self, postfix: str | None = None) -> list[str]:
        section = f"{self.config_section_prefix}_sandbox" + (f"_{postfix}" if postfix else "")
        return [section, f"{section}_{self.name}"]

    def get_config_section(self, postfix: str | None = None) -> str:
        """The section law would read: ``[TYPE_sandbox_NAME]`` when it exists, else the general one."""
        from pipekit.config import Config

        general, custom = self._sections(postfix)
        return custom if Config.instance().has_section(custom) else general

    def config(self, option: str, default: Any = None, type: str | None = None) -> Any:  # noqa: A002
        """*option* from ``[TYPE_sandbox_NAME]``, else ``[TYPE_sandbox]``, else *default*."""
        from pipekit.config import Config

        cfg = Config.instance()
        for section in reversed(self._sections()):
            if cfg.has_option(section, option):
                return cfg.get_expanded(section, option, default, type=type)
        return default

    def config_items(self, postfix: str) -> dict[str, Any]:
        """Options of ``[TYPE_sandbox_POSTFIX]`` updated by those of the per-name section."""
        from pipekit.config import Config

        cfg = Config.instance()
        items: dict[str, Any] = {}
        for section in self._sections(postfix):
            items.update(cfg.items(section))
        return items

    # -- what the sandboxed process gets --------------------------------------------------------

    def configured_env(self) -> dict[str, str]:
        """Variables from ``[TYPE_sandbox_env]``: set, or forwarded from the host when bare."""
        env: dict[str, str] = {}
        for name, value in self.config_items("env").items():
            if any(c in name for c in "*?["):
                env.update({k: v for k, v in os.environ.items() if fnmatch.fnmatchcase(k, name)})
            elif value is None:
                if name in os.environ:
                    env[name] = os.environ[name]
            else:
                env[name] = str(value)
        return env

    def sandbox_variables(self, stage: StageArea | None = None) -> dict[str, str]:
        """The variables that tell the inner process it is sandboxed, and where staging is."""
        env = {"LAW_SANDBOX": self.key, "LAW_SANDBOX_SWITCHED": "1"}
        if self.task is not None:
            env["LAW_SANDBOX_TASK_ID"] = self.task.task_id
            env.update(other_family_values(self.task.get_task_family()))
        if stage is not None:
            env.update(
                LAW_SANDBOX_STAGEIN_DIR=stage.in_dir,
                LAW_SANDBOX_STAGEOUT_DIR=stage.out_dir,
                PIPEKIT_SANDBOX_MANIFEST=stage.manifest_path,
            )
        return env

    def task_env(self, stage: StageArea | None = None) -> dict[str, str]:
        """Variables set in the sandbox: config, the task's ``sandbox_env()``, then pipekit's."""
        env = self.configured_env()
        if self.task is not None:
            env.update({k: str(v) for k, v in (self.task.sandbox_env(dict(env)) or {}).items()})
        env.update(self.sandbox_variables(stage))
        return env

    def volumes(self) -> dict[str, str]:
        """``{host path: path inside}`` from ``[TYPE_sandbox_volumes]`` and ``sandbox_volumes()``."""
        from pipekit.config import expand_path

        vols = {
            expand_path(h): (v or expand_path(h)) for h, v in self.config_items("volumes").items()
        }
        if self.task is not None:
            vols.update(self.task.sandbox_volumes(dict(vols)) or {})
        return vols

    def hook_cmds(self, name: str) -> list[str]:
        """The task's ``sandbox_<name>_cmds()`` (``pre_setup``, ``setup``, ``post_setup``)."""
        if self.task is None:
            return []
        cmds = getattr(self.task, f"sandbox_{name}_cmds")()
        return [str(c) for c in (cmds or [])]

    def pipekit_command(
        self, python: list[str], prepend: list[str], append: list[str]
    ) -> list[str]:
        """
        The command that runs the task inside: ``python -c BOOTSTRAP ... run TASK ...``, or the
        configured ``pipekit_executable`` (alias ``law_executable``) when pipekit is installed
        in the sandbox itself.
        """
        exe = self.config("pipekit_executable") or self.config("law_executable")
        args = inner_args(self.task)
        if exe:
            return [*shlex.split(exe), *args]
        return bootstrap_command(python, prepend, append, args)

    # -- running --------------------------------------------------------------------------------

    def check_available(self) -> None:
        """Raise :class:`SandboxError` when the engine or the image is missing."""

    def runs_as_other_user(self) -> bool:
        """Whether the sandboxed process runs as another user than this one."""
        return False

    def run_task(self, stage: StageArea | None) -> tuple[int, list[str]]:
        """Run the bound task inside; returns the exit code and the last lines of output."""
        raise NotImplementedError

    def stream(
        self, argv: list[str], env: dict[str, str], cwd: str | None = None
    ) -> tuple[int, list[str]]:
        """Run *argv* with output forwarded to stdout; the engine missing is a SandboxError."""
        from pipekit.shell import stream_command

        try:
            return stream_command(
                argv,
                env=env,
                cwd=cwd,
                timeout=self.config("timeout", None, "float"),
                tail=self.tail_lines,
            )
        except CommandError as e:
            raise SandboxError(f"sandbox '{self.key}' of {self.task!r}: {e}") from None

    def failure_hint(self, code: int) -> str:
        """A sentence explaining exit code *code* of the sandboxed process, or ""."""
        if code == BOOTSTRAP_FAILED:
            return "pipekit could not start inside the sandbox"
        if code == 2:
            return "the sandboxed 'pipekit run' rejected its command line (see the lines above)"
        if code == 127:
            return "a command was not found inside the sandbox (is Python installed there?)"
        return ""

    def execute(self) -> None:
        """Run the bound task in this sandbox: stage in, run, stage out; raise on failure."""
        task = self.task
        self.check_available()
        stage = None
        if self.stages_targets:
            stage = StageArea(
                task, base_dir=self.config("stage_dir"), other_user=self.runs_as_other_user()
            )
        try:
            if stage is not None:
                stage.prepare()
            _print_banner("entering sandbox", task, self)
            t0 = time.perf_counter()
            code, tail = -1, []
            try:
                code, tail = self.run_task(stage)
            finally:
                took = f"exit code {code}, {time.perf_counter() - t0:.2f} s"
                _print_banner("leaving sandbox", task, self, took)
            if code != 0:
                hint = self.failure_hint(code)
                lines = "\n  ".join(tail[-self.tail_lines :]) or "(no output)"
                raise SandboxError(
                    f"{task!r} failed in sandbox '{self.key}' with exit code {code}"
                    + (f"; {hint}" if hint else "")
                    + f"\nlast lines of its output:\n  {lines}"
                )
            if stage is not None:
                stage.stage_out()
        finally:
            if stage is not None:
                stage.cleanup()
        missing = _missing_outputs(task)
        if missing:
            # in a container, an output that is not staged out is written where nobody sees it
            hint = "; outputs not staged out need a volume" if self.stages_targets else ""
            raise SandboxError(
                f"{task!r} finished in sandbox '{self.key}' but did not write "
                f"{', '.join(missing[:5])}"
                + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
                + hint
            )


def _missing_outputs(task: Any) -> list[str]:
    return [
        str(getattr(t, "path", t))
        for t, _ in iter_target_leaves(task.output())
        if hasattr(t, "exists") and not t.exists()
    ]


def _print_banner(title: str, task: Any, sandbox: Sandbox, extra: str = "") -> None:
    head = f" {title}" + (f" ({extra})" if extra else "") + " "
    lines = [
        "",
        head.center(BANNER_WIDTH, "="),
        f"task   : {task!r}",
        f"sandbox: {sandbox.key}",
        "=" * BANNER_WIDTH,
        "",
    ]
    sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.flush()


# -- the task side --------------------------------------------------------------------------------


def _sandboxed_run(impl: Callable) -> Callable:
    @functools.wraps(impl)
    def run(self: SandboxTask, *args: Any, **kwargs: Any) -> Any:
        is_workflow = getattr(self, "is_workflow", None)
        if self.is_sandboxed() or (callable(is_workflow) and is_workflow()):
            return impl(self, *args, **kwargs)
        return self._run_in_sandbox()

    run._pipekit_sandbox_wrapped = True  # type: ignore[attr-defined]
    return run


def _staged(kind: str) -> Callable:
    """A wrapper for ``input`` / ``output`` (*kind*: ``"inputs"`` / ``"outputs"``) that, inside
    a staging sandbox, returns the staged targets; mapping twice gives the same result."""

    def wrap(impl: Callable) -> Callable:
        @functools.wraps(impl)
        def method(self: SandboxTask, *args: Any, **kwargs: Any) -> Any:
            targets = impl(self, *args, **kwargs)
            manifest = manifest_for(self) if inside_sandbox() else None
            return staged_struct(targets, manifest[kind]) if manifest else targets

        method._pipekit_sandbox_wrapped = True  # type: ignore[attr-defined]
        return method

    return wrap


def _default_sandbox() -> str:
    # inside a sandbox the parameter defaults to it, as in law, so a task created there without
    # --sandbox is the same task (same id) as the one outside
    return current_sandbox() or NO_STR


class SandboxTask(Task):
    """
    A task whose ``run()`` executes inside a sandbox (``sandbox = "TYPE::NAME"`` or
    ``--sandbox``). Hooks: :meth:`sandbox_stagein`, :meth:`sandbox_stageout`,
    :meth:`sandbox_env`, :meth:`sandbox_volumes`, :meth:`sandbox_pre_setup_cmds`,
    :meth:`sandbox_setup_cmds`, :meth:`sandbox_post_setup_cmds`, :meth:`sandbox_user`,
    :meth:`sandbox_pre_run`, :meth:`sandbox_post_run`, :meth:`fallback_sandbox`.
    """

    exclude_index = True

    sandbox = luigi.Parameter(
        default=_default_sandbox(),
        description="sandbox to run the task in, TYPE::NAME (bash::script.sh, venv::path, "
        "docker::image, singularity::image); default: none",
    )

    #: whether the task may run without a sandbox when none is given
    allow_empty_sandbox = False
    #: patterns a --sandbox value must match (fallback_sandbox() is asked otherwise)
    valid_sandboxes: list[str] = ["*"]
    #: parameters not passed to the task inside the sandbox
    exclude_params_sandbox: set[str] = set()

    def __init_subclass__(cls, **kwargs: Any):
        # runs after workflow classes wrapped run/output for dispatching (or before, depending on
        # the order of the bases); either way the wrappers compose, see _sandboxed_run
        super().__init_subclass__(**kwargs)
        wrappers = (
            ("run", _sandboxed_run),
            ("output", _staged("outputs")),
            ("input", _staged("inputs")),
        )
        for name, wrap in wrappers:
            impl = getattr(cls, name, None)
            if callable(impl) and not getattr(impl, "_pipekit_sandbox_wrapped", False):
                setattr(cls, name, wrap(impl))

    def _resolve_sandbox(self) -> str:
        if inside_sandbox():
            return current_sandbox()  # no nesting: inside a sandbox, tasks run where they are
        family = self.get_task_family()
        value = self.sandbox
        if value in (None, "", NO_STR):
            if self.allow_empty_sandbox:
                return NO_STR
            raise SandboxKeyError(
                f"{family} needs a sandbox: pass --sandbox TYPE::NAME or set sandbox = "
                "'TYPE::NAME' on the class (e.g. 'bash::setup.sh', 'docker::image')"
            )
        if isinstance(getattr(type(self), "sandbox", None), luigi.Parameter):
            valid = (
                [self.valid_sandboxes]
                if isinstance(self.valid_sandboxes, str)
                else list(self.valid_sandboxes)
            )
            if not any(fnmatch.fnmatchcase(value, p) for p in valid):
                fallback = self.fallback_sandbox(value)
                if not fallback:
                    raise SandboxKeyError(
                        f"sandbox '{value}' is not allowed for {family}; allowed: {', '.join(valid)}"
                    )
                value = fallback
        Sandbox.type_class(Sandbox.split_key(value)[0])  # an unknown type fails now, not mid-run
        return value

    # -- state ----------------------------------------------------------------------------------

    @property
    def effective_sandbox(self) -> str:
        """
        The sandbox key the task runs in (``NO_STR`` when it runs without one). Resolved on first
        use, as in law: a missing, disallowed or unknown sandbox fails the task when it runs,
        while ``--print-status`` and the tasks that depend on it still work.
        """
        key = self.__dict__.get("_effective_sandbox")
        if key is None:
            key = self.__dict__["_effective_sandbox"] = self._resolve_sandbox()
        return key

    @property
    def sandbox_inst(self) -> Sandbox | None:
        """The :class:`Sandbox` to enter, or None when there is none to enter (already inside)."""
        if self.is_sandboxed():
            return None
        inst = self.__dict__.get("_sandbox_inst")
        if inst is None or inst.task is not self:  # branch clones copy instance dicts
            inst = self.__dict__["_sandbox_inst"] = Sandbox.new(self.effective_sandbox, task=self)
        return inst

    def is_sandboxed(self) -> bool:
        """Whether ``run()`` executes right here: inside the sandbox, or no sandbox is set."""
        return self.effective_sandbox == NO_STR or inside_sandbox()

    def is_sandboxed_task(self) -> bool:
        """Whether this is *the* task a sandboxed process was started for."""
        return inside_sandbox() and os.environ.get("LAW_SANDBOX_TASK_ID") == self.task_id

    # -- what changes inside the sandbox --------------------------------------------------------

    def deps(self) -> list:
        # requirements were resolved by the outer process; inside they are neither checked (their
        # outputs may not even be visible in a container) nor run
        if inside_sandbox():
            return []
        return super().deps()

    # -- hooks ----------------------------------------------------------------------------------

    def fallback_sandbox(self, sandbox: str) -> str | None:
        """A sandbox to use when *sandbox* does not match :attr:`valid_sandboxes` (None: error)."""
        return None

    def sandbox_stagein(self, inputs: Any) -> Any:
        """Which inputs container sandboxes stage in: True (all), False, or a mask structure."""
        return True

    def sandbox_stageout(self, outputs: Any) -> Any:
        """Which outputs container sandboxes stage out: True (all), False, or a mask structure."""
        return True

    def sandbox_env(self, env: dict[str, str]) -> dict[str, str]:
        """Extra variables for the sandboxed process (*env*: those configured so far)."""
        return {}

    def sandbox_volumes(self, volumes: dict[str, str]) -> dict[str, str]:
        """Extra ``{host path: path inside}`` mounts for container sandboxes."""
        return {}

    def sandbox_pre_setup_cmds(self) -> list[str]:
        """Shell commands run before the sandbox's own setup (sourcing the script, activation)."""
        return []

    def sandbox_setup_cmds(self) -> list[str]:
        """Shell commands run inside the sandbox right before the task, on every run."""
        return []

    def sandbox_post_setup_cmds(self) -> list[str]:
        """Shell commands run right after the sandbox's own setup."""
        return []

    def sandbox_user(self) -> tuple[int, int]:
        """``(uid, gid)`` a container runs as: the caller's, or ``uid`` / ``gid`` from the config."""
        uid, gid = os.getuid(), os.getgid()
        inst = self.sandbox_inst
        if inst is not None:
            uid = inst.config("uid", uid, "int")
            gid = inst.config("gid", gid, "int")
        return uid, gid

    def sandbox_pre_run(self) -> None:
        """Called in the outer process before the sandbox is entered."""

    def sandbox_post_run(self) -> None:
        """Called in the outer process after the sandbox was left successfully."""

    def _run_in_sandbox(self) -> None:
        inst = self.sandbox_inst
        assert inst is not None
        self.sandbox_pre_run()
        inst.execute()
        self.sandbox_post_run()


def require_sandbox(func: Callable | None = None, sandbox: Any = None) -> Callable:
    """
    Decorator for methods of a :class:`SandboxTask` that must only run inside the sandbox: a call
    outside raises :class:`SandboxError`. With *sandbox* (a pattern or list of patterns), the
    task's sandbox must also match. Use as ``@require_sandbox`` or ``@require_sandbox("docker::*")``.
    """
    if isinstance(func, (str, list, tuple)):
        func, sandbox = None, func
    patterns = [sandbox] if isinstance(sandbox, str) else list(sandbox or [])

    def decorator(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapper(task: Any, *args: Any, **kwargs: Any) -> Any:
            if not isinstance(task, SandboxTask):
                raise TypeError(f"@require_sandbox needs a SandboxTask, {task!r} is none")
            if not task.is_sandboxed():
                raise SandboxError(
                    f"{fn.__name__}() of {task!r} must run inside sandbox '{task.effective_sandbox}'"
                    ", but was called outside of it"
                )
            if patterns and not any(
                fnmatch.fnmatchcase(task.effective_sandbox, p) for p in patterns
            ):
                raise SandboxError(
                    f"{fn.__name__}() of {task!r} needs a sandbox matching {', '.join(patterns)}, "
                    f"but runs in '{task.effective_sandbox}'"
                )
            return fn(task, *args, **kwargs)

        return wrapper

    return decorator(func) if func is not None else decorator
