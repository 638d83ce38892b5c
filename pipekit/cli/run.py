"""
``pipekit run TASK [options]``: find the task, parse its parameters, run it with luigi.

TASK is ``module.Class`` or a task family from the index (``pipekit index``; refreshed
automatically when ``[modules]`` or their files change). Options are the task's parameters
(``--n 5``; booleans as ``--flag`` or ``--flag false``), parameters of other tasks
(``--Upstream-n 3``, like luigi), luigi's run options (``--workers``, ``--local-scheduler``,
``--scheduler-host``, ``--scheduler-port``, ``--log-level``, ``--no-lock``) and the interactive
options (``--print-deps``, ``--print-status``, ``--print-output``, ``--remove-output``,
``--fetch-output``), which inspect instead of running.
"""

from __future__ import annotations

import importlib
import os
import sys
from dataclasses import dataclass, field
from typing import Any

from pipekit.errors import ParameterError, TaskNotFoundError, UsageError

__all__ = ["execute", "run_argv", "law_run", "resolve_task_class", "parse_task_args", "RunOptions"]

#: options of ``pipekit run`` that are not task parameters: name -> (kind, help)
RUN_OPTIONS: dict[str, tuple[str, str]] = {
    "workers": ("int", "number of tasks (or workflow branches) run in parallel; default 1"),
    "local_scheduler": ("flag", "use an in-process scheduler (the default unless a host is set)"),
    "scheduler_host": ("str", "host of a central luigi scheduler (luigid)"),
    "scheduler_port": ("int", "port of the central scheduler"),
    "log_level": ("str", "DEBUG, INFO, WARNING, ERROR or CRITICAL"),
    "no_lock": ("flag", "do not take luigi's lock against running the same command twice"),
    "print_deps": ("str", "D: print the dependency tree down to depth D (-1: all) and exit"),
    "print_status": ("str", "D[,C]: print output status down to depth D (C: collection depth)"),
    "print_output": ("str", "D[,provenance]: print output locations down to depth D (with what "
                     "made each one) and exit"),
    "remove_output": ("str", "D[,MODE[,RUN]]: remove outputs to depth D; MODE i(nteractive), a(ll), "
                      "d(ry), o(utdated: only outputs provenance finds outdated)"),
    "rerun_outdated": ("flag", "remove the outputs provenance finds outdated, at any depth, then run "
                       "the task (--remove-output -1,outdated,yes)"),
    "fetch_output": ("str", "D[,MODE[,DIR]]: copy outputs to depth D into DIR (default: cwd)"),
    "graph": ("str", "FILE: draw the dependency graph (to the --print-deps depth) to .png/.svg/.pdf/.dot"),
}
INTERACTIVE = ("print_deps", "print_status", "print_output", "remove_output", "fetch_output", "graph")


@dataclass
class RunOptions:
    """What ``pipekit run`` was asked to do, besides the task's own parameters."""

    workers: int | None = None  # None: luigi's [core] workers (law.cfg [luigi_core]), else 1
    local_scheduler: bool | None = None
    scheduler_host: str | None = None
    scheduler_port: int | None = None
    log_level: str | None = None
    no_lock: bool = True
    interactive: dict[str, str] = field(default_factory=dict)


# -- finding the task -----------------------------------------------------------------------------


def _close_matches(word: str, choices: Any, n: int = 3, cutoff: float = 0.6) -> list[str]:
    # difflib is imported only when a suggestion is needed: it is not free at startup
    import difflib

    return difflib.get_close_matches(word, choices, n=n, cutoff=cutoff)


def _ensure_cwd_importable() -> None:
    cwd = os.getcwd()
    if cwd not in sys.path and "" not in sys.path:
        sys.path.insert(0, cwd)


def _registry() -> dict[str, type]:
    import luigi.task_register

    reg = luigi.task_register.Register._get_reg()
    return {fam: cls for fam, cls in reg.items() if isinstance(cls, type)}


def _import_module(modname: str) -> Any:
    try:
        return importlib.import_module(modname)
    except ModuleNotFoundError as e:
        if e.name and (modname == e.name or modname.startswith(e.name + ".")):
            return None
        raise UsageError(f"importing module '{modname}' failed: {e}") from e
    except UsageError:
        raise
    except Exception as e:  # the user's module raised while importing
        if os.getenv("PIPEKIT_DEBUG") == "1":
            raise
        raise UsageError(
            f"importing module '{modname}' failed: {type(e).__name__}: {e} (--debug shows the traceback)"
        ) from e


def _is_library_class(cls: type) -> bool:
    # pipekit's, law's and luigi's own task classes are bases, never what a bare family means
    return cls.__module__.split(".")[0] in ("pipekit", "luigi", "law")


def resolve_task_class(name: str, namespace: dict[str, Any] | None = None) -> type:
    """
    The task class for ``module.Class`` or an indexed task family. A task class named *name* in
    *namespace* (``%ilaw`` passes the notebook's variables) comes first.
    """
    import luigi

    _ensure_cwd_importable()
    found = namespace.get(name) if namespace is not None else None
    if isinstance(found, type) and issubclass(found, luigi.Task):
        return found
    if "." in name:
        modname, clsname = name.rsplit(".", 1)
        module = _import_module(modname)
        if module is not None:
            cls = getattr(module, clsname, None)
            if isinstance(cls, type) and issubclass(cls, luigi.Task):
                return cls
            if cls is None:
                known = [n for n, v in vars(module).items() if isinstance(v, type) and issubclass(v, luigi.Task)]
                close = _close_matches(clsname, known, n=3)
                hint = f"; did you mean {', '.join(modname + '.' + c for c in close)}?" if close else ""
                raise TaskNotFoundError(f"module '{modname}' has no task class '{clsname}'{hint}")
            raise TaskNotFoundError(f"'{name}' is not a luigi task class")
    # the index first, as in law: a family of the analysis wins over a class of the same name
    # that luigi's registry holds already (pipekit's own Task, say)
    from pipekit.cli.index import Index

    index = Index.load_fresh()
    modname = index.module_of(name)
    if modname:
        _import_module(modname)
        reg = _registry()
        if name in reg:
            return reg[name]
    reg = _registry()
    found = reg.get(name)
    if found is not None and not _is_library_class(found):
        return found
    families = sorted(set(index.families()) | set(reg))
    close = _close_matches(name, families, n=3, cutoff=0.5)
    hint = f"did you mean {', '.join(close)}? " if close else ""
    raise TaskNotFoundError(
        f"unknown task '{name}'; {hint}use module.Class, or list the module under [modules] in "
        "law.cfg and run 'pipekit index'"
    )


# -- parsing options ------------------------------------------------------------------------------

_TRUE_FALSE = {"true", "false", "yes", "no", "1", "0", "on", "off"}


def _param_map(cls: type) -> dict[str, Any]:
    from luigi.parameter import ParameterVisibility

    return {
        name: p
        for name, p in cls.get_params()
        if getattr(p, "visibility", ParameterVisibility.PUBLIC) != ParameterVisibility.PRIVATE
    }


def _is_bool(param: Any) -> bool:
    import luigi

    return isinstance(param, luigi.BoolParameter)


def _parse_value(family: str, name: str, param: Any, raw: str) -> Any:
    try:
        return param.parse(raw)
    except Exception as e:  # luigi parameters raise ValueError, TypeError, json errors, ...
        kind = type(param).__name__
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise ParameterError(
            f"invalid value for --{name.replace('_', '-')} of {family}: {raw!r} ({kind}: {reason})"
        ) from None


def _split_family_option(key: str, registry: dict[str, type]) -> tuple[str, str] | None:
    """``"Upstream-n"`` -> ``("Upstream", "n")`` when Upstream is a known task family."""
    for i, ch in enumerate(key):
        if ch == "-" and key[:i] in registry:
            return key[:i], key[i + 1:].replace("-", "_")
    return None


def parse_task_args(cls: type, args: list[str]) -> tuple[dict[str, Any], RunOptions, dict[str, dict[str, str]], bool]:
    """
    Split *args* into the task's parameter values (parsed), run options, raw command-line
    values per family, and whether help was asked for.
    """
    family = cls.get_task_family()
    params = _param_map(cls)
    opts = RunOptions()
    kwargs: dict[str, Any] = {}
    cli_values: dict[str, dict[str, str]] = {family: {}}
    registry: dict[str, type] | None = None
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg in ("-h", "--help"):
            return kwargs, opts, cli_values, True
        if not arg.startswith("--") or arg == "--":
            raise UsageError(f"unexpected argument {arg!r}; task parameters are given as --name value")
        key, has_eq, value = arg[2:].partition("=")
        name = key.replace("-", "_")
        target_family, target_param = family, params.get(name)
        kind = None
        if target_param is None and name in RUN_OPTIONS:
            kind = RUN_OPTIONS[name][0]
        elif target_param is None:
            registry = registry if registry is not None else _registry()
            split = _split_family_option(key, registry)
            if split and split[1] in _param_map(registry[split[0]]):
                target_family, name = split
                target_param = _param_map(registry[target_family])[name]
            else:
                choices = [p.replace("_", "-") for p in params] + [o.replace("_", "-") for o in RUN_OPTIONS]
                close = _close_matches(key, choices, n=2)
                hint = f"; did you mean {' or '.join('--' + c for c in close)}?" if close else ""
                raise UsageError(f"unknown option --{key} for {family}{hint} ('--help' lists all)")
        is_flag = kind == "flag" or (target_param is not None and _is_bool(target_param))
        if not has_eq:
            if is_flag:
                if i < len(args) and args[i].lower() in _TRUE_FALSE:
                    value = args[i]
                    i += 1
                else:
                    value = "true"
            else:
                if i >= len(args):
                    raise UsageError(f"option --{key} needs a value")
                value = args[i]
                i += 1
        if target_param is None:
            _set_run_option(opts, name, kind, value)
            continue
        if value == "" and not getattr(target_param, "parse_empty", False):
            continue  # as in luigi and law: an empty value means "use the default"
        cli_values.setdefault(target_family, {})[name] = value
        if target_family == family:
            kwargs[name] = _parse_value(family, name, target_param, value)
        else:
            _parse_value(target_family, name, target_param, value)  # validate now, not mid-run
            _set_luigi_config(target_family, name, value)
    return kwargs, opts, cli_values, False


def _set_luigi_config(section: str, option: str, value: str) -> None:
    """luigi reads defaults of other tasks' parameters from its config section [Family]."""
    import luigi.configuration

    conf = luigi.configuration.get_config()
    if not conf.has_section(section):
        conf.add_section(section)
    conf.set(section, option, value)


def _set_run_option(opts: RunOptions, name: str, kind: str | None, value: str) -> None:
    if name == "rerun_outdated":
        from pipekit.config import to_bool
        from pipekit.task.interactive import RERUN_OUTDATED

        try:
            wanted = to_bool(value)
        except ValueError:
            raise UsageError(f"--rerun-outdated takes true or false, got {value!r}") from None
        if wanted and "remove_output" in opts.interactive:
            raise UsageError("--rerun-outdated is --remove-output -1,outdated,yes; give one of them")
        if wanted:
            opts.interactive["remove_output"] = RERUN_OUTDATED
        return
    if name in INTERACTIVE:
        if name == "remove_output" and "remove_output" in opts.interactive:
            raise UsageError("--rerun-outdated is --remove-output -1,outdated,yes; give one of them")
        opts.interactive[name] = value
        return
    if kind == "flag":
        from pipekit.config import to_bool

        try:
            setattr(opts, name, to_bool(value))
        except ValueError:
            raise UsageError(f"--{name.replace('_', '-')} takes true or false, got {value!r}") from None
        return
    if kind == "int":
        try:
            setattr(opts, name, int(value))
        except ValueError:
            raise UsageError(f"--{name.replace('_', '-')} needs an integer, got {value!r}") from None
        if name == "workers" and opts.workers < 1:
            raise UsageError("--workers needs a positive integer")
        return
    if name == "log_level":
        value = value.upper()
        if value not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL", "NOTSET"):
            raise UsageError(f"--log-level must be DEBUG, INFO, WARNING, ERROR or CRITICAL, got {value!r}")
    setattr(opts, name, value)


# -- help -----------------------------------------------------------------------------------------


def format_help(cls: type, prog: str) -> str:
    family = cls.get_task_family()
    lines = [f"usage: {prog} {family} [--PARAM VALUE ...] [options]", ""]
    doc = (cls.__doc__ or "").strip().splitlines()
    if doc:
        lines += [doc[0], ""]
    lines.append(f"parameters of {family}:")
    for name, p in _param_map(cls).items():
        opt = "--" + name.replace("_", "-")
        default = p._default
        from luigi.parameter import _no_value

        dflt = "required" if default is _no_value else f"default: {p.serialize(default) if default is not None else None}"
        desc = (p.description or "").strip()
        lines.append(f"  {opt:<28} {type(p).__name__}; {dflt}" + (f"\n  {'':<28} {desc}" if desc else ""))
    lines += ["", "run and inspection options:"]
    for name, (kind, desc) in RUN_OPTIONS.items():
        opt = "--" + name.replace("_", "-") + ("" if kind == "flag" else " " + kind.upper().replace("STR", "VALUE"))
        lines.append(f"  {opt:<28} {desc}")
    lines.append(f"  {'--FAMILY-PARAM VALUE':<28} set a parameter of another task, e.g. --Upstream-n 3")
    return "\n".join(lines)


# -- execution ------------------------------------------------------------------------------------


def instantiate(cls: type, kwargs: dict[str, Any]) -> Any:
    """Create the task, turning luigi's missing-parameter error into a usage error."""
    import luigi.parameter

    try:
        return cls(**kwargs)
    except luigi.parameter.MissingParameterException as e:
        import re

        m = re.search(r"requires the '(\w+)' parameter", str(e))
        name = m.group(1) if m else "?"
        raise ParameterError(
            f"{cls.get_task_family()} needs --{name.replace('_', '-')} (it has no default); "
            f"e.g. {cls.get_task_family()} --{name.replace('_', '-')} VALUE"
        ) from None
    except (ValueError, TypeError) as e:
        from pipekit.errors import PipekitError

        if isinstance(e, PipekitError):
            raise
        raise ParameterError(f"cannot create {cls.get_task_family()}: {e}") from None


def run_argv(argv: Any, _task_class: type | None = None, **kwargs: Any) -> int:
    """
    ``pipekit run`` from Python (law's ``law_run``): *argv* is ``"Task --n 5"`` or a list; luigi
    run options may be given as *kwargs* (``workers=2``, ``local_scheduler=True``). Returns the
    exit code; errors are reported as on the command line. *_task_class* runs that class,
    whatever the family in ``argv[0]`` resolves to.
    """
    import shlex

    from pipekit.cli.main import main

    args = shlex.split(argv) if isinstance(argv, str) else [str(a) for a in argv]
    for key, value in kwargs.items():
        if value is None or value is False:
            continue
        option = "--" + key.replace("_", "-")
        args += [option] if value is True else [option, str(value)]
    if _task_class is None:
        return main(["run", *args])
    namespace = {args[0]: _task_class}
    return main(["run", *args], run_namespace=namespace)


def law_run(argv: Any, **kwargs: Any) -> bool:
    """
    law.util's ``law_run``: run a task line (``"Task --n 5"`` or a list) in this process as
    ``law run`` would; True when everything succeeded. *kwargs* are luigi run options.
    """
    return run_argv(argv, **kwargs) == 0


def _check_config(cfg: Any) -> None:
    """Raise for an unusable value of law.cfg; warn about likely misspellings (once per run)."""
    from pipekit.config_check import check_config

    warnings = check_config(cfg)
    if os.environ.get("LAW_SANDBOX_SWITCHED") != "1":  # the outer run warned already
        for line in warnings:
            print(f"pipekit: warning: {line}", file=sys.stderr)


def execute(args: list[str], prog: str = "pipekit run", namespace: dict[str, Any] | None = None) -> int:
    if not args or args[0] in ("-h", "--help"):
        print(f"usage: {prog} TASK [--PARAM VALUE ...] [options]\n\n"
              "TASK is module.Class or a task family from the index ('pipekit index').\n"
              f"'{prog} TASK --help' lists the task's parameters.")
        return 0 if args else 2
    from pipekit.config import Config

    # parse and check law.cfg early: a broken file or value must fail before anything runs
    _check_config(Config.instance())
    cls = resolve_task_class(args[0], namespace)
    kwargs, opts, cli_values, want_help = parse_task_args(cls, args[1:])
    if want_help:
        print(format_help(cls, prog))
        return 0
    from pipekit.task.base import set_cli_values

    set_cli_values(cli_values)
    task = instantiate(cls, kwargs)
    validate = getattr(task, "validate_branch_selection", None)
    if callable(validate):
        validate()
    is_workflow = getattr(task, "is_workflow", None)
    if callable(is_workflow) and is_workflow():
        task.workflow_proxy  # noqa: B018 - a --workflow type that cannot run fails now, in one line
    if not opts.interactive and hasattr(type(task), "effective_sandbox"):
        # the task named on the command line: a bad --sandbox is a usage error before anything
        # runs; its dependencies, as in law, fail only when they run
        task.effective_sandbox  # noqa: B018
    from pipekit.cli.execution import run_interactive, run_tasks

    if opts.interactive:
        return run_interactive(task, opts)
    return run_tasks([task], opts)
