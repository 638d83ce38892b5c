"""
Check law.cfg before anything runs: :func:`check_config`.

``pipekit run`` reads most options only when it needs them — a Slurm option when the first job
is submitted, luigi's ``[core] workers`` when luigi starts — so a bad value used to end the run
late, after luigi's summary or with a traceback. :func:`check_config` reads every option of
pipekit's own sections and of luigi's ``core`` / ``worker`` / ``scheduler`` sections up front:

- a value that cannot be used raises :class:`~pipekit.errors.ConfigError` (exit code 2) with one
  line naming the file, the section, the option, the value and what would be valid;
- an option of one of pipekit's sections that pipekit does not read, but that is close to one it
  does (``comand_timeout``), and a section close to one of pipekit's (``[slrum]``), give a warning
  naming the closest valid name. Options that law reads and pipekit does not are accepted
  silently, so a law.cfg of an existing analysis gives no noise.

A backend adds its section to :data:`SECTIONS` (``{option: check}``; the check is one of the
``_kind`` helpers below or any callable that raises ``ValueError`` with the reason).
"""

from __future__ import annotations

import difflib
import os
import re
import shlex
from typing import Any, Callable, Iterable

from pipekit.errors import ConfigError

__all__ = ["check_config", "SECTIONS", "LAW_ONLY_OPTIONS"]

Check = Callable[[str], Any]


def _integer(minimum: int | None = None, maximum: int | None = None) -> Check:
    def check(value: str) -> int:
        try:
            n = int(value)
        except ValueError:
            raise ValueError("not a whole number") from None
        if minimum is not None and n < minimum:
            raise ValueError(f"must be at least {minimum}")
        if maximum is not None and n > maximum:
            raise ValueError(f"must be at most {maximum}")
        return n

    return check


def _seconds(minimum: float = 0.0, allow_zero: bool = True) -> Check:
    def check(value: str) -> float:
        try:
            seconds = float(value)
        except ValueError:
            raise ValueError("not a number of seconds") from None
        if seconds < minimum or (not allow_zero and seconds == 0):
            raise ValueError("must be more than 0 seconds" if not allow_zero else
                             f"must be at least {minimum:g} seconds")
        return seconds

    return check


def _duration(value: str) -> float:
    from pipekit.humanize import parse_duration

    try:
        seconds = parse_duration(value)
    except ValueError:
        raise ValueError("not a duration; use e.g. 3600, 2h or 01:30:00") from None
    if seconds <= 0:
        raise ValueError("must be longer than 0")
    return seconds


def _boolean(value: str) -> bool:
    from pipekit.config import to_bool

    try:
        return to_bool(value)
    except ValueError:
        raise ValueError("not a boolean; use True or False") from None


def _arguments(value: str) -> list[str]:
    try:
        return shlex.split(value)
    except ValueError as e:  # "No closing quotation", "No escaped character"
        raise ValueError(f"cannot be split into arguments ({str(e).lower()}); check its quotes") from None


def _text(value: str) -> str:
    return value


def _auto_or_boolean(value: str) -> str | bool:
    return "auto" if value.strip().lower() == "auto" else _boolean(value)


def _credentials(value: str) -> tuple[str, ...]:
    from pipekit.errors import UsageError
    from pipekit.grid.credentials import parse_mode

    try:
        return parse_mode(value)
    except UsageError:
        raise ValueError("not a credential choice; use auto, none, x509, token or x509,token") from None


def _margin(value: str) -> float:
    """A duration that may be 0 (``[job] credential_margin = 0``: exactly the walltime)."""
    from pipekit.humanize import parse_duration

    try:
        seconds = parse_duration(value)
    except ValueError:
        raise ValueError("not a duration; use e.g. 3600, 1h or 30m") from None
    if seconds < 0:
        raise ValueError("must not be negative")
    return seconds


def _factor(value: str) -> float:
    try:
        factor = float(value)
    except ValueError:
        raise ValueError("not a number; use e.g. 1.5 (1 keeps the request unchanged)") from None
    if factor < 1.0:
        raise ValueError("must be at least 1 (1 keeps the request unchanged)")
    return factor


def _memory(value: str) -> int:
    from pipekit.errors import UsageError
    from pipekit.job.resources import config_megabytes

    try:
        return config_megabytes(value, "memory")
    except UsageError:
        raise ValueError("not a memory size; use e.g. 16G or 16000 (MB)") from None


_SECONDS = _seconds(allow_zero=False)

#: what the node side and the adaptive retries read from [job] and from each backend's section
#: (pipekit/workflow/job_config.py: node_setting, retry_policy)
_NODE_AND_RETRY: dict[str, Check] = {
    "scratch_dir": _text, "keep_scratch": _boolean, "bundle_cache": _text,
    "retry_memory_factor": _factor, "retry_walltime_factor": _factor,
    "retry_memory_max": _memory, "retry_walltime_max": _duration, "max_free_retries": _integer(0),
}

#: what every array backend reads from its section (pipekit/job/resources.py, job/arrays.py)
_ARRAY_BACKEND: dict[str, Check] = {
    "walltime": _duration, "memory": _text, "cpus": _integer(1), "gpus": _integer(0),
    "bootstrap_file": _text, "stageout_file": _text, "max_array_size": _integer(1),
    "command_timeout": _SECONDS, "credentials": _credentials, **_NODE_AND_RETRY,
}

#: pipekit's own sections: option -> check of its value
SECTIONS: dict[str, dict[str, Check]] = {
    "core": {"index_file": _text, "software_dir": _text, "inherit": _text, "extend": _text,
             "sync_env": _boolean, "sync_luigi_config": _boolean, "provenance": _boolean},
    "provenance": {"checksum": _boolean},
    "target": {"default_local_fs": _text, "tmp_dir": _text},
    "job": {"job_file_dir": _text, "job_file_dir_cleanup": _boolean, "python_executable": _text,
            "bootstrap_file": _text, "stageout_file": _text, "lost_job_grace": _seconds(),
            "credentials": _credentials, "credential_margin": _margin, "bundle_dir": _text,
            **_NODE_AND_RETRY},
    "slurm": {**_ARRAY_BACKEND, "partition": _text, "sbatch_args": _arguments},
    "sge": {**_ARRAY_BACKEND, "queue": _text, "project": _text, "parallel_environment": _text,
            "gpu_resource": _text, "qsub_args": _arguments, "accounting": _auto_or_boolean},
    "lsf": {**_ARRAY_BACKEND, "queue": _text, "project": _text, "memory_unit": _text,
            "bsub_args": _arguments, "bjobs_json": _auto_or_boolean},
    "htcondor": {"universe": _text, "requirements": _text, "cpus": _integer(1), "memory": _text,
                 "disk": _text, "gpus": _integer(0), "max_runtime": _duration,
                 "accounting_group": _text, "max_idle": _integer(1), "shared_filesystem": _boolean,
                 "bootstrap_file": _text, "stageout_file": _text, "submit_lines": _text,
                 "submit_args": _arguments, "pool": _text, "scheduler": _text,
                 "max_jobs_per_submission": _integer(1), "command_timeout": _SECONDS,
                 "credentials": _credentials, "oauth_services": _text, **_NODE_AND_RETRY},
    "arc": {"ce": _text, "interface": _text, "queue": _text, "walltime": _duration,
            "memory": _integer(1), "cpus": _integer(1), "runtime_environments": _text,
            "xrsl_lines": _text, "arcsub_args": _arguments, "credentials": _credentials,
            "bootstrap_file": _text, "stageout_file": _text, "command_timeout": _SECONDS,
            "max_jobs_per_submission": _integer(1), "cancel_guard": _boolean, **_NODE_AND_RETRY},
    "notifications": {"mail_recipient": _text, "mail_sender": _text, "mail_smtp_host": _text,
                      "mail_smtp_port": _integer(1, 65535)},
}

#: options law reads in pipekit's sections that pipekit does not: accepted without a warning
LAW_ONLY_OPTIONS: dict[str, set[str]] = {
    "core": {"law_home"},
    "target": {"colored_repr", "colored_str", "expand_path_repr", "filesize_repr", "tmp_dir_perm",
               "collection_remove_threads", "interactive_removal_local_sync"},
    "job": {"job_file_dir_mkdtemp", "job_query_timeout"},
}
#: law's per-backend options of [job] (``slurm_cmd_sbatch``, ``htcondor_chunk_size_query``, ...)
_LAW_JOB_OPTION = re.compile(r"^(arc|crab|glite|htcondor|lsf|slurm|sge)_")
#: sections with free-form options (logger names, module lists, option prefixes)
_FREE_FORM = {"logging", "modules", "task", "local_fs"}
#: luigi's sections checked against luigi's own parameter classes
_LUIGI_SECTIONS = {"core": ("luigi.interface", "core"), "worker": ("luigi.worker", "worker"),
                   "scheduler": ("luigi.scheduler", "scheduler")}


def check_config(cfg: Any) -> list[str]:
    """
    Check the values of *cfg* (a :class:`pipekit.config.Config`); raise :class:`ConfigError`
    for the first unusable one; return the warnings about likely misspellings.
    """
    warnings: list[str] = []
    for section, checks in SECTIONS.items():
        if not cfg.has_section(section):
            continue
        for option in cfg.options(section):
            if option in checks:
                _check_value(cfg, section, option, checks[option])
            else:
                hint = _misspelled(option, checks, LAW_ONLY_OPTIONS.get(section, set()), section)
                if hint:
                    warnings.append(f"{_origin(cfg, section, option)}: [{section}] {option} is not "
                                    f"an option pipekit reads; did you mean {hint}?")
    warnings += _check_section_names(cfg)
    warnings += _check_luigi(cfg)
    return warnings


def _check_value(cfg: Any, section: str, option: str, check: Check) -> None:
    value = cfg.get_expanded(section, option, None)
    if value is None or (isinstance(value, str) and value.strip() in ("", "None")):
        return  # unset: the default applies
    try:
        check(str(value).strip())
    except ValueError as e:
        raise ConfigError(f"{_origin(cfg, section, option)}: [{section}] {option} = {value!r}: "
                          f"{e}") from None


def _origin(cfg: Any, section: str, option: str) -> str:
    """Where *option* of *section* came from: an environment variable, else the config file."""
    for prefix in ("LAW", "PIPEKIT"):
        name = f"{prefix}__{section}__{option}"
        if name in os.environ:
            return f"${name}"
    return cfg.config_file or "law.cfg"


def _misspelled(option: str, known: Iterable[str], law_only: set[str], section: str) -> str | None:
    if option in law_only or (section == "job" and _LAW_JOB_OPTION.match(option)):
        return None
    close = difflib.get_close_matches(option, list(known), n=1, cutoff=0.75)
    return close[0] if close else None


def _check_section_names(cfg: Any) -> list[str]:
    known = set(SECTIONS) | _FREE_FORM | {f"luigi_{s}" for s in _LUIGI_SECTIONS}
    out = []
    for section in cfg.sections():
        if section in known or section.startswith(("luigi_", "local_fs_")):
            continue
        close = difflib.get_close_matches(section, sorted(known), n=1, cutoff=0.8)
        if close:
            out.append(f"{cfg.config_file or 'law.cfg'}: section [{section}] is not one pipekit "
                       f"reads; did you mean [{close[0]}]?")
    return out


def _check_luigi(cfg: Any) -> list[str]:
    """luigi's [core] / [worker] / [scheduler] values (from law.cfg's [luigi_*] or luigi's own
    files), parsed as luigi will parse them."""
    import importlib

    import luigi.configuration

    lconf = luigi.configuration.get_config()
    warnings = []
    for lsection, (module, name) in _LUIGI_SECTIONS.items():
        if not lconf.has_section(lsection):
            continue
        params = dict(getattr(importlib.import_module(module), name).get_params())
        ours = f"luigi_{lsection}"
        for option in lconf.options(lsection):
            key = option.replace("-", "_")
            where = (f"{_origin(cfg, ours, option)}: [{ours}] {option}"
                     if cfg.has_option(ours, option) else
                     f"luigi's configuration: [{lsection}] {option}")
            param = params.get(key)
            if param is None:
                close = difflib.get_close_matches(key, list(params), n=1, cutoff=0.75)
                if close and cfg.has_option(ours, option):
                    warnings.append(f"{where} is not an option of luigi's [{lsection}]; did you "
                                    f"mean {close[0]}?")
                continue
            value = lconf.get(lsection, option)
            try:
                param.parse(value)
            except Exception as e:  # luigi's parsers raise ValueError, TypeError, ...
                reason = str(e).splitlines()[0] if str(e) else type(e).__name__
                raise ConfigError(f"{where} = {value!r}: not a valid {type(param).__name__} "
                                  f"value ({reason})") from None
    return warnings
