"""
law.cfg discovery, parsing, expansion and the hand-over of ``[luigi_*]`` sections to luigi.

The configuration is read once per process through :meth:`Config.instance`. Discovery order, as in
law: ``$LAW_CONFIG_FILE`` (alias ``$PIPEKIT_CONFIG_FILE``; ``/dev/null`` means no file at all),
``./law.cfg``, ``$LAW_HOME/config``, ``~/.law/config``. Syntax is that of :mod:`configparser` (``key: value`` or ``key = value``) with:

- ``[core] inherit: a.cfg, b.cfg`` reads other files *before* this one (this file wins),
  ``[core] extend: c.cfg`` reads them *after* it (they win); paths are relative to the file;
- ``$VAR`` / ``${VAR}`` and ``~`` expansion in :meth:`Config.get_expanded`;
- references to other options: ``&::option`` (same section) or ``&::section::option``;
- environment overrides ``LAW__section__option=value`` (alias ``PIPEKIT__section__option``);
- ``[luigi_X]`` sections become luigi's ``[X]`` sections (so ``[luigi_core] local_scheduler:
  True`` works), unless luigi's own configuration already sets the option.

Module-level functions (``pipekit.config.get_expanded(...)`` etc.) forward to the instance, as
``law.config`` does.
"""

from __future__ import annotations

import configparser
import fnmatch
import os
import re
from typing import Any, Callable, Iterable

from pipekit.errors import ConfigError

__all__ = [
    "Config",
    "law_home_path",
    "get",
    "get_default",
    "get_expanded",
    "get_expanded_int",
    "get_expanded_float",
    "get_expanded_bool",
    "has_section",
    "has_option",
    "options",
    "items",
    "keys",
    "sections",
    "set",
]

_MISSING = object()


def law_home_path(*paths: str) -> str:
    """Path inside ``$LAW_HOME`` (default ``~/.law``)."""
    home = os.getenv("LAW_HOME") or os.getenv("PIPEKIT_HOME") or "~/.law"
    return os.path.join(os.path.expandvars(os.path.expanduser(home)), *(str(p) for p in paths))


def expand_path(value: str, expand_vars: bool = True, expand_user: bool = True) -> str:
    """Expand ``~`` and ``$VAR`` in *value*; ``\\~`` and ``\\$`` stay literal."""
    if expand_user:
        value = value.replace(r"\~", "\0tilde\0")
        value = os.path.expanduser(value).replace("\0tilde\0", "~")
    if expand_vars:
        value = value.replace(r"\$", "\0dollar\0")
        value = os.path.expandvars(value).replace("\0dollar\0", "$")
    return value


_TRUE = {"1", "yes", "true", "on", "y"}
_FALSE = {"0", "no", "false", "off", "n", ""}


def to_bool(value: Any) -> bool:
    """Interpret a config string as a boolean; raise ``ValueError`` when it is none."""
    if isinstance(value, bool):
        return value
    s = str(value).strip().lower()
    if s in _TRUE:
        return True
    if s in _FALSE:
        return False
    raise ValueError(f"cannot interpret '{value}' as a boolean (use true or false)")


class Config(configparser.ConfigParser):
    """
    The resolved configuration: defaults, the discovered law.cfg (with inherited and extended
    files) and environment overrides. Option names are case-sensitive, like law's.
    """

    _instance: Config | None = None

    #: values a Config pushed into luigi's config, per luigi config object: a later Config (after
    #: :meth:`reset`) may replace these, but never values luigi's own files or a user set
    _pushed_to_luigi: dict[int, dict[tuple[str, str], str]] = {}

    #: defaults every installation has; a law.cfg overrides them
    _default_config: dict[str, dict[str, Any]] = {
        "core": {
            "index_file": None,  # None: <dir of the config file>/.law/index or $LAW_HOME/index
            "software_dir": None,
            "inherit": None,
            "extend": None,
            "sync_env": True,
            "sync_luigi_config": True,
        },
        "logging": {},
        "modules": {},
        "task": {"colored_repr": False},
        "target": {"default_local_fs": "local_fs", "tmp_dir": None},
        "local_fs": {"base": "/"},
        "job": {"job_file_dir": None, "job_file_dir_cleanup": False},
        "luigi_core": {},
    }

    _ref_regex = re.compile(r"^&(::(?P<section>[^:]+))?::(?P<option>.+)$")
    _env_regex = re.compile(r"^(?:LAW|PIPEKIT)__([A-Za-z0-9_]+?)__([A-Za-z0-9_]+)$")

    @classmethod
    def instance(cls, *args: Any, **kwargs: Any) -> Config:
        """The process-wide configuration, created on first use."""
        if cls._instance is None:
            cls._instance = cls(*args, **kwargs)
        return cls._instance

    @classmethod
    def reset(cls) -> None:
        """Forget the process-wide instance (tests, or after changing law.cfg)."""
        cls._instance = None

    @classmethod
    def find_config_file(cls) -> str | None:
        """The config file discovery would read, or None."""
        for var in ("LAW_CONFIG_FILE", "PIPEKIT_CONFIG_FILE"):
            path = os.getenv(var)
            if path:
                path = os.path.abspath(expand_path(path))
                if path == os.devnull:
                    return None  # as in law: "no config file", and no fallback either
                if not os.path.isfile(path):
                    raise ConfigError(
                        f"${var} points to '{path}', which does not exist; "
                        f"create it or unset {var}"
                    )
                return path
        for cand in ("law.cfg", law_home_path("config"), "~/.law/config"):
            path = os.path.abspath(expand_path(cand))
            if os.path.isfile(path):
                return path
        return None

    def __init__(
        self,
        config_file: str | None = None,
        skip_defaults: bool = False,
        skip_fallbacks: bool = False,
        skip_includes: bool = False,
        skip_env_sync: bool = False,
        skip_luigi_sync: bool = False,
        _included_by: tuple[str, ...] = (),
    ):
        super().__init__(allow_no_value=True, interpolation=None, delimiters=(":", "="))
        self.config_file: str | None = None
        self.config_files: list[str] = []
        # files whose inherit/extend led here, to refuse include cycles
        self._included_by = _included_by

        if config_file:
            self.config_file = os.path.abspath(expand_path(str(config_file)))
            if not os.path.isfile(self.config_file):
                raise ConfigError(f"config file '{self.config_file}' does not exist")
        elif not skip_fallbacks:
            self.config_file = self.find_config_file()

        if not skip_defaults:
            self.update(self._default_config)

        if self.config_file:
            own = None
            if not skip_includes:
                # this file's own [core] inherit/extend: after merging, [core] may hold values of
                # inherited files, whose paths are relative to those files and already applied
                own = Config(self.config_file, skip_defaults=True, skip_includes=True,
                             skip_env_sync=True, skip_luigi_sync=True)
                self._include(own.get_expanded("core", "inherit", None), own.config_files)
            self._read_file_checked(self.config_file)
            if own is not None:
                self._include(own.get_expanded("core", "extend", None), own.config_files)

        if not skip_env_sync and self.get_expanded_bool("core", "sync_env", True):
            self.sync_env()
        if not skip_luigi_sync and self.get_expanded_bool("core", "sync_luigi_config", True):
            self.sync_luigi_config()

    # -- reading --------------------------------------------------------------------------------

    def optionxform(self, optionstr: str) -> str:
        return optionstr

    def _read_file_checked(self, path: str) -> None:
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except UnicodeDecodeError as e:
            raise ConfigError(f"{path}: not a text file ({e.reason})") from None
        lines = text.splitlines()
        self._check_headers(path, lines)
        self._check_valueless(path, lines)
        try:
            self.read_string(text, source=path)
        except configparser.MissingSectionHeaderError as e:
            raise ConfigError(
                f"{path}:{e.lineno}: option outside of a section: {e.line.strip()!r}; "
                "put it below a header such as [core]"
            ) from None
        except configparser.ParsingError as e:
            lineno = e.errors[0][0]
            # configparser stores repr(line) in some Python versions; show the line as written
            line = lines[lineno - 1] if 0 < lineno <= len(lines) else e.errors[0][1]
            raise ConfigError(
                f"{path}:{lineno}: cannot parse line {line.strip()!r}; "
                "expected 'key: value', 'key = value' or a [section] header"
            ) from None
        except (configparser.DuplicateOptionError, configparser.DuplicateSectionError) as e:
            raise ConfigError(
                f"{path}:{e.lineno}: {e.message.split(': ', 1)[-1]}; remove one of them"
            ) from None
        self.config_files.append(path)

    #: sections whose options may have no value (a list of names, like law's [modules]; in the
    #: sandbox env / volumes sections a bare name forwards the host's variable / mounts the path)
    valueless_sections = ("modules", "*_sandbox_env", "*_sandbox_env_*", "*_sandbox_volumes",
                          "*_sandbox_volumes_*")

    def _check_valueless(self, path: str, lines: list[str]) -> None:
        """
        A bare line such as ``local_scheduler True`` (no ``:``) outside [modules] is a typo that
        configparser would accept as an option without value; report it with its line.
        """
        section = None
        for lineno, line in enumerate(lines, 1):
            stripped = line.strip()
            if not stripped or stripped.startswith(("#", ";")) or line[:1].isspace():
                continue
            m = self.SECTCRE.match(stripped)
            if m:
                section = m.group("header")
                continue
            if section and any(fnmatch.fnmatchcase(section, p) for p in self.valueless_sections):
                continue
            if not any(d in stripped for d in (":", "=")):
                raise ConfigError(
                    f"{path}:{lineno}: {stripped!r} in [{section}] has no value; write "
                    f"'{stripped.split()[0]}: VALUE' (only [modules] lists bare names)"
                )

    def _check_headers(self, path: str, lines: list[str]) -> None:
        """
        Reject broken section headers such as ``[luigi_core`` (no ``]``). With valueless options
        allowed (as ``[modules]`` needs), configparser would read them as an option name.
        """
        for lineno, line in enumerate(lines, 1):
            if not line.startswith("["):
                continue  # indented lines continue a value and may start with "["
            if not self.SECTCRE.match(line.rstrip()):
                raise ConfigError(
                    f"{path}:{lineno}: broken section header {line.strip()!r}; "
                    "write it as [name]"
                )

    def _include(self, value: str | None, relative_to: list[str]) -> None:
        if not value:
            return
        base = os.path.dirname(relative_to[0]) if relative_to else os.getcwd()
        for name in (v.strip() for v in value.split(",")):
            if not name:
                continue
            path = os.path.normpath(os.path.join(base, expand_path(name)))
            if not os.path.isfile(path):
                raise ConfigError(
                    f"{relative_to[0] if relative_to else 'config'}: [core] inherit/extend names "
                    f"'{name}', which does not exist at '{path}'; paths are relative to the file "
                    "that names them"
                )
            chain = self._included_by + (self.config_file or "",)
            if path in chain:
                cycle = " -> ".join(chain[chain.index(path):] + (path,))
                raise ConfigError(
                    f"{relative_to[0] if relative_to else 'config'}: [core] inherit/extend "
                    f"includes files in a cycle ({cycle}); remove one of these entries"
                )
            other = Config(path, skip_defaults=True, skip_env_sync=True, skip_luigi_sync=True,
                           _included_by=chain)
            self.update({s: dict(other.items(s, raw=True)) for s in other.sections()})
            self.config_files.extend(other.config_files)

    # -- writing --------------------------------------------------------------------------------

    def set(self, section: str, option: str, value: Any = None) -> None:  # noqa: A003
        if not self.has_section(section):
            self.add_section(section)
        super().set(section, option, None if value is None else str(value))

    def update(self, data: dict[str, dict[str, Any]], overwrite: bool = True) -> None:
        """Merge ``{section: {option: value}}`` into the configuration."""
        for section, opts in data.items():
            if not self.has_section(section):
                self.add_section(section)
            for option, value in opts.items():
                if overwrite or not self.has_option(section, option):
                    self.set(section, option, value)

    def sync_env(self) -> None:
        """Apply ``LAW__section__option`` environment variables."""
        for name, value in os.environ.items():
            m = self._env_regex.match(name)
            if m:
                self.set(m.group(1), m.group(2), value)

    def sync_luigi_config(self) -> None:
        """Hand ``[luigi_X]`` sections to luigi's configuration as ``[X]``."""
        import luigi.configuration

        lconf = luigi.configuration.get_config()
        pushed = Config._pushed_to_luigi.setdefault(id(lconf), {})
        for section in self.sections():
            if not section.startswith("luigi_"):
                continue
            lsection = section[len("luigi_"):]
            for option in self.options(section):
                key = (lsection, option)
                if lconf.has_option(lsection, option) and (
                    key not in pushed or lconf.get(lsection, option, raw=True) != pushed[key]
                ):
                    continue  # luigi's own config files and env win, as with law
                value = self.get_expanded(section, option)
                if value is None:
                    continue
                if not lconf.has_section(lsection):
                    lconf.add_section(lsection)
                try:
                    lconf.set(lsection, option, value)
                except ValueError as e:  # luigi's %-interpolation rejects a lone "%"
                    raise ConfigError(
                        f"[{section}] {option} = {value!r} in {self.config_file or 'the config'} "
                        f"cannot be passed to luigi ({e}); write %% for a literal %"
                    ) from None
                pushed[key] = value

    # -- access ---------------------------------------------------------------------------------

    def get_default(
        self,
        section: str,
        option: str,
        default: Any = _MISSING,
        type: Callable | str | None = None,  # noqa: A002
        expand_vars: bool = False,
        expand_user: bool = False,
        split_csv: bool = False,
        dereference: bool = True,
        default_when_none: bool = True,
        _seen: tuple = (),
    ) -> Any:
        """
        The value of *option* in *section*, or *default* when it is missing (or ``None`` /
        ``"None"`` and *default_when_none*). Without a default, a missing option raises
        :class:`ConfigError`. *type* is ``"str"``, ``"int"``, ``"float"``, ``"bool"`` or a callable.
        """
        if not self.has_option(section, option):
            if default is _MISSING:
                raise ConfigError(f"option '{option}' missing in section [{section}] of the config")
            return default
        value = super().get(section, option, raw=True)
        if isinstance(value, str):
            value = expand_path(value, expand_vars=expand_vars, expand_user=expand_user)
            m = self._ref_regex.match(value) if dereference else None
            if m:
                ref = (m.group("section") or section, m.group("option"))
                if ref in _seen:
                    raise ConfigError(f"circular config reference [{section}] {option} -> {ref}")
                return self.get_default(*ref, default=default, type=type, expand_vars=expand_vars,
                                        expand_user=expand_user, split_csv=split_csv,
                                        default_when_none=default_when_none,
                                        _seen=_seen + ((section, option),))
        if default_when_none and default is not _MISSING:
            if value is None or (isinstance(value, str) and value.strip().lower() == "none"):
                return default
        if split_csv:
            values = [v.strip() for v in (value or "").split(",") if v.strip()]
            return [self._cast(section, option, v, type) for v in values]
        return self._cast(section, option, value, type)

    def _cast(self, section: str, option: str, value: Any, type: Any) -> Any:  # noqa: A002
        if type is None or value is None:
            return value
        conv = {"str": str, "int": int, "float": float, "bool": to_bool, "boolean": to_bool}.get(
            type, type
        )
        if conv is bool:
            conv = to_bool
        try:
            return conv(value)
        except (TypeError, ValueError) as e:
            name = {to_bool: "boolean; use True or False", int: "whole number",
                    float: "number"}.get(conv, f"value ({e})")
            raise ConfigError(
                f"{self.config_file or 'the config'}: [{section}] {option} = {value!r}: "
                f"not a valid {name}"
            ) from None

    def get_expanded(self, section: str, option: str, default: Any = _MISSING, **kwargs: Any):
        """Like :meth:`get_default` with ``$VAR`` and ``~`` expansion."""
        kwargs.setdefault("expand_vars", True)
        kwargs.setdefault("expand_user", True)
        return self.get_default(section, option, default, **kwargs)

    def get_expanded_int(self, section: str, option: str, default: Any = _MISSING, **kw: Any):
        return self.get_expanded(section, option, default, type="int", **kw)

    def get_expanded_float(self, section: str, option: str, default: Any = _MISSING, **kw: Any):
        return self.get_expanded(section, option, default, type="float", **kw)

    def get_expanded_bool(self, section: str, option: str, default: Any = _MISSING, **kw: Any):
        return self.get_expanded(section, option, default, type="bool", **kw)

    get_expanded_boolean = get_expanded_bool

    def options(self, section: str, prefix: str | None = None, **kwargs: Any) -> list[str]:  # type: ignore[override]
        if not self.has_section(section):
            return []
        opts = super().options(section)
        return [o for o in opts if not prefix or o.startswith(prefix)]

    def keys(self, section: str, prefix: str | None = None) -> list[str]:  # type: ignore[override]
        return self.options(section, prefix=prefix)

    def items(self, section: Any = _MISSING, raw: bool = False, vars: Any = None,  # noqa: A002
              prefix: str | None = None, expand: bool = True):  # type: ignore[override]
        if section is _MISSING:
            return super().items()
        if raw:
            return super().items(section, raw=True) if self.has_section(section) else []
        get = self.get_expanded if expand else self.get_default
        return [(o, get(section, o, None)) for o in self.options(section, prefix=prefix)]

    def get_section(self, section: str, expand: bool = True) -> dict[str, Any]:
        """All options of *section* as a dict (expanded)."""
        return dict(self.items(section, expand=expand))

    def index_file(self) -> str:
        """Where ``pipekit index`` writes the task index."""
        path = self.get_expanded("core", "index_file", None)
        if path:
            return os.path.abspath(path)
        if os.getenv("LAW_INDEX_FILE"):
            return os.path.abspath(expand_path(os.environ["LAW_INDEX_FILE"]))
        if self.config_file:
            return os.path.join(os.path.dirname(self.config_file), ".law", "index")
        return law_home_path("index")

    def modules(self) -> list[str]:
        """Task modules listed in ``[modules]`` (option names, or comma separated values)."""
        mods: list[str] = []
        for option in self.options("modules"):
            value = self.get_expanded("modules", option, None)
            names = [option] if not value else [v.strip() for v in value.split(",")]
            mods.extend(n for n in names if n and n not in mods)
        return mods


def _forward(name: str) -> Callable:
    def forwarder(*args: Any, **kwargs: Any) -> Any:
        return getattr(Config.instance(), name)(*args, **kwargs)

    forwarder.__name__ = name
    forwarder.__doc__ = f"Forwards to :meth:`Config.{name}` of the process-wide configuration."
    return forwarder


get = _forward("get_default")
get_default = _forward("get_default")
get_expanded = _forward("get_expanded")
get_expanded_int = _forward("get_expanded_int")
get_expanded_float = _forward("get_expanded_float")
get_expanded_bool = _forward("get_expanded_bool")
get_expanded_boolean = get_expanded_bool
has_section = _forward("has_section")
has_option = _forward("has_option")
options = _forward("options")
items = _forward("items")
keys = _forward("keys")
sections = _forward("sections")
set = _forward("set")  # noqa: A001


def iter_sections(prefix: str) -> Iterable[str]:
    """Names of config sections starting with *prefix*."""
    return [s for s in Config.instance().sections() if s.startswith(prefix)]
