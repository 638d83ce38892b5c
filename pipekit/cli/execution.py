"""
Running tasks with luigi and reporting what happened, shared by ``pipekit run`` and ``%ilaw``.

Logging is short: one line when a task starts, finishes or fails (with the task's traceback),
then luigi's execution summary. luigi's own per-task chatter is silenced unless asked for with
``--log-level`` or ``[logging] luigi-interface``. The exit code is 0 when everything ran (or was
already complete), otherwise luigi's ``[retcode]`` code of what went wrong with law's defaults:
10 already running, 20 missing external data, 30 not run, 40 a task failed, 50 scheduling
error (``[luigi_retcode]`` in law.cfg changes them; a failed run never exits 0).
"""

from __future__ import annotations

import logging
import os
import sys
import time
import traceback
from typing import Any

__all__ = ["setup_logging", "run_tasks", "run_interactive", "install_event_handlers",
           "LAW_RETCODES", "retcode", "run_retcode"]

_handlers_installed = False
_start_times: dict[str, float] = {}


class _ShortFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        msg = record.getMessage()
        if record.exc_info:
            msg += "\n" + self.formatException(record.exc_info)
        if record.levelno >= logging.WARNING:
            return f"{record.levelname}: {msg}"
        return msg


def _attach_short_handler(name: str, stream: Any) -> None:
    """Give logger *name* (once) a handler writing short lines to *stream*, not to the root."""
    lg = logging.getLogger(name)
    if any(getattr(h, "_pipekit", False) for h in lg.handlers):
        return
    handler = logging.StreamHandler(stream)
    handler.setFormatter(_ShortFormatter())
    handler._pipekit = True  # type: ignore[attr-defined]
    lg.addHandler(handler)
    lg.propagate = False


def setup_logging(level: str | None = None) -> None:
    """Configure the pipekit, luigi and task loggers from ``[logging]`` and *level*."""
    import luigi.configuration

    from pipekit.config import Config

    lconf = luigi.configuration.get_config()
    if not lconf.has_option("core", "no_configure_logging") and not lconf.has_option("core", "logging_conf_file"):
        if not lconf.has_section("core"):
            lconf.add_section("core")
        lconf.set("core", "no_configure_logging", "True")

    cfg = Config.instance()
    _attach_short_handler("pipekit", sys.stdout)
    for name in ("luigi-interface", "luigi"):
        _attach_short_handler(name, sys.stderr)
    levels = {"pipekit": "INFO", "luigi-interface": "CRITICAL", "luigi": "CRITICAL"}
    for name, value in cfg.items("logging"):
        if value and name != "law":
            levels[name] = str(value).upper()
    if level:
        levels.update({"pipekit": level.upper(), "luigi-interface": level.upper(), "luigi": level.upper()})
    for name, value in levels.items():
        logging.getLogger(name).setLevel(getattr(logging, value, logging.INFO))


def _out(msg: str, err: bool = False) -> None:
    stream = sys.stderr if err else sys.stdout
    stream.write(msg + "\n")
    stream.flush()


def _user_traceback(exc: BaseException) -> str:
    """The traceback of *exc* without the frames of luigi's worker that called ``run()``."""
    import os

    import luigi

    luigi_dir = os.path.dirname(luigi.__file__)
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename.startswith(luigi_dir):
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(exc), exc, tb)).rstrip()


def _leave_ctrl_c_to_the_main_process() -> None:
    """
    In a process luigi forked to run a task (``--workers`` > 1), ignore Ctrl-C. The terminal
    sends it to every process of the run; a task process would end with a traceback of its
    own, one per running task. luigi's main process stops the run and terminates them, and
    ``pipekit run`` prints one line.
    """
    import multiprocessing
    import signal

    if multiprocessing.parent_process() is None:
        return
    from luigi.worker import TaskProcess

    if isinstance(multiprocessing.current_process(), TaskProcess):
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def install_event_handlers() -> None:
    """Print one line per task start, success and failure (once per process)."""
    global _handlers_installed
    if _handlers_installed:
        return
    _handlers_installed = True
    import luigi

    from pipekit.errors import PipekitError

    @luigi.Task.event_handler(luigi.Event.START)
    def _on_start(task: Any) -> None:
        _leave_ctrl_c_to_the_main_process()
        _start_times[task.task_id] = time.time()
        _out(f"running {task!r}")

    @luigi.Task.event_handler(luigi.Event.SUCCESS)
    def _on_success(task: Any) -> None:
        t0 = _start_times.pop(task.task_id, None)
        took = f" ({time.time() - t0:.2f} s)" if t0 else ""
        _out(f"done    {task!r}{took}")

    @luigi.Task.event_handler(luigi.Event.FAILURE)
    def _on_failure(task: Any, exc: BaseException) -> None:
        if isinstance(exc, PipekitError):
            _out(f"failed  {task!r}: {exc}", err=True)
            return
        tb = _user_traceback(exc)
        _out(f"failed  {task!r}: {type(exc).__name__}: {exc}\n{tb}", err=True)

    @luigi.Task.event_handler(luigi.Event.BROKEN_TASK)
    def _on_broken(task: Any, exc: BaseException) -> None:
        _out(f"broken  {task!r}: checking or scheduling it raised {type(exc).__name__}: {exc}", err=True)

    @luigi.Task.event_handler(luigi.Event.DEPENDENCY_MISSING)
    def _on_missing(task: Any) -> None:
        # luigi sends this event also when complete() raised: show that error, not "missing"
        if getattr(task, "run", None) is not None:
            try:
                task.complete()
            except Exception as e:
                _out(f"broken  {task!r}: checking whether it is complete raised "
                     f"{type(e).__name__}: {e}", err=True)
                return
        _out(f"missing {task!r}: an external input does not exist", err=True)


def _use_local_scheduler(opts: Any) -> bool:
    import luigi.configuration

    if opts.local_scheduler is not None:
        return bool(opts.local_scheduler)
    if opts.scheduler_host:
        return False
    lconf = luigi.configuration.get_config()
    if lconf.has_option("core", "local_scheduler"):
        return lconf.getboolean("core", "local_scheduler")
    return True  # pipekit's default: work out of the box without a luigid


def run_tasks(tasks: list[Any], opts: Any) -> int:
    """
    Run *tasks* with luigi; returns the exit code: 0 on success, otherwise luigi's ``[retcode]``
    code of what went wrong, with law's defaults (a failed task: 40, see :data:`LAW_RETCODES`).
    """
    import luigi
    import luigi.configuration
    from luigi.execution_summary import LuigiStatusCode

    setup_logging(opts.log_level)
    install_event_handlers()
    lconf = luigi.configuration.get_config()
    if not lconf.has_section("core"):
        lconf.add_section("core")
    # LocalWorkflow reads the worker count from here to run branches in parallel; without
    # --workers, [core] workers from the config (law.cfg [luigi_core]) applies, as in luigi
    workers = opts.workers or lconf.getint("core", "workers", 1)
    lconf.set("core", "workers", str(workers))
    env: dict[str, Any] = {"workers": workers, "local_scheduler": _use_local_scheduler(opts),
                           "no_lock": opts.no_lock}
    if opts.scheduler_host:
        env["scheduler_host"] = opts.scheduler_host
    if opts.scheduler_port:
        env["scheduler_port"] = opts.scheduler_port
    from pipekit.workflow.slots import run_slots

    with run_slots(workers):  # N tasks and branches at once over the whole run, not N per task
        try:
            result = luigi.build(tasks, detailed_summary=True, **env)
        except luigi.interface.PidLockAlreadyTakenExit:
            return retcode("already_running") or 1
    # a sandboxed run is one step of the outer run, which prints the summary
    if os.environ.get("LAW_SANDBOX_SWITCHED") != "1":
        _out(result.summary_text.strip("\n"))
    ok = result.status in (LuigiStatusCode.SUCCESS, LuigiStatusCode.SUCCESS_WITH_RETRY)
    if ok:
        return 0
    # a failed run never exits 0, even when [retcode] maps its category to 0 (luigi's defaults)
    return run_retcode(result) or 1


#: exit codes by luigi's [retcode] category, as law sets them (luigi's own defaults are all 0
#: but unhandled_exception 4); law.cfg's [luigi_retcode] (or luigi's [retcode]) overrides them
LAW_RETCODES = {"already_running": 10, "missing_data": 20, "not_run": 30, "task_failed": 40,
                "scheduling_error": 50, "unhandled_exception": 60}


def retcode(category: str) -> int:
    """The exit code configured for *category* (see :data:`LAW_RETCODES`)."""
    import luigi.configuration

    conf = luigi.configuration.get_config()
    try:
        return conf.getint("retcode", category, LAW_RETCODES[category])
    except ValueError:
        from pipekit.errors import ConfigError

        raise ConfigError(f"[retcode] {category} in the configuration must be an integer "
                          f"(luigi's exit code for that case), got "
                          f"{conf.get('retcode', category)!r}") from None


def run_retcode(result: Any) -> int:
    """
    The exit code of a luigi run as luigi's ``run_with_retcodes`` computes it: the largest code
    among the categories that occurred (failed tasks, missing external data, scheduling errors,
    tasks not run, tasks run by another worker); ``not_run`` when the root task did not finish.
    """
    import luigi.execution_summary as summary

    # luigi's own summary of the worker; private but unchanged since luigi 2.x (tested)
    sets = summary._summary_dict(result.worker)
    present = {k for k, v in sets.items() if v}
    codes = [retcode(category) for category, key in (
        ("missing_data", "still_pending_ext"), ("task_failed", "failed"),
        ("already_running", "run_by_other_worker"), ("scheduling_error", "scheduling_error"),
        ("not_run", "not_run")) if key in present]
    code = max(codes, default=0)
    root = summary._root_task(result.worker)
    if code == 0 and root not in sets["completed"] and root not in sets["already_done"]:
        return retcode("not_run")
    return code


def run_interactive(task: Any, opts: Any) -> int:
    """Handle ``--print-*``, ``--graph``, ``--remove-output`` and ``--fetch-output``."""
    from pipekit.task import interactive

    setup_logging(opts.log_level)
    inter = opts.interactive
    if "print_deps" in inter:
        interactive.print_task_deps(task, inter["print_deps"])
    if "graph" in inter:
        from pipekit.cli.graph import write_task_graph

        depth = inter.get("print_deps") or inter.get("print_status") or "-1"
        write_task_graph(task, inter["graph"], depth, opts)
    if "print_status" in inter:
        interactive.print_task_status(task, inter["print_status"])
    if "print_output" in inter:
        interactive.print_task_output(task, inter["print_output"])
    if "fetch_output" in inter:
        interactive.fetch_task_output(task, inter["fetch_output"])
    if "remove_output" in inter:
        run_after = interactive.remove_task_output(task, inter["remove_output"])
        if run_after:
            return run_tasks([task], opts)
    return 0
