"""
Remote file systems from law.cfg: reading a file-system section and building its interface.

A section (``[wlcg_fs]``, or a named one such as ``[wlcg_fs_analysis]``) holds, as in law::

    [wlcg_fs_analysis]
    base: root://door{1,2}.example.org//store/user/me     # one or several URLs (braces, commas)
    base_filecopy: root://fast.example.org//store/user/me  # per operation: stat, exists, listdir,
                                                            # mkdir, unlink, rmdir, rename, chmod,
                                                            # filecopy, checksum
    retries: 3              # extra attempts after a transient error (connection refused, ...)
    retry_delay: 1s         # first wait; doubled after every attempt
    request_timeout: 2m     # a request without an answer for this long fails (and is retried)
    stall_warning: 20s      # a request without an answer for this long is logged (0: never)
    random_base: False      # False: round-robin over the bases; True: a random one per call
    validate_copy: True     # verify transfers: checksum where the server offers one, else size
    checksum: adler32       # algorithm asked from the server (none: size only)
    use_cache: False
    cache_root: /tmp/$USER/pipekit_cache
    cache_max_size: 10GB    # 0: unlimited
    cache_mtime_patience: 1.0
    cache_file_perm: 0o660
    cache_dir_perm: 0o770
    cache_lock_timeout: 10m
    file_interface: auto    # gfal, fsspec, or auto: gfal2 when importable (fsspec for S3)
    gfal_transfer_timeout: 3600
    gfal_transfer_nbstreams: 1
    gfal_transfer_mode: auto  # stream (gfal2 file API; default for root://) or copy (filecopy)
    gfal_isolation: auto    # requests in a helper process: auto (XRootD), always, never
    s3_endpoint_url: http://127.0.0.1:5000   # s3_* and fsspec_* options go to fsspec
    s3_key: ...

A named section falls back to the default section for options it does not set. law's options
``cache_wait_delay`` x ``cache_max_waits`` are read as ``cache_lock_timeout``; law-only options
pipekit does not need (``gfal_atomic_contexts``, ``cache_global_lock``, ...) are accepted and
ignored.
"""

from __future__ import annotations

import json
from typing import Any

from pipekit.errors import ConfigError
from pipekit.target.remote.base import RemoteFileSystem
from pipekit.target.remote.interface import RemoteFileInterface, split_scheme

__all__ = [
    "ConfiguredFileSystem",
    "read_fs_options",
    "make_file_interface",
    "make_cache",
    "BASE_OPERATIONS",
]

#: operations that may have their own base URLs (``base_<op>``)
BASE_OPERATIONS = (
    "stat",
    "exists",
    "listdir",
    "mkdir",
    "unlink",
    "rmdir",
    "rename",
    "chmod",
    "filecopy",
    "checksum",
)

_DEFAULTS: dict[str, Any] = {
    "retries": 3,
    "retry_delay": "1s",
    "request_timeout": "2m",
    "stall_warning": "20s",
    "random_base": False,
    "validate_copy": True,
    "checksum": "adler32",
    "use_cache": False,
    "cache_root": None,
    "cache_max_size": "0",
    "cache_mtime_patience": 1.0,
    "cache_file_perm": None,
    "cache_dir_perm": None,
    "cache_lock_timeout": "10m",
    "file_interface": "auto",
    "gfal_transfer_timeout": 3600,
    "gfal_transfer_nbstreams": 1,
    "gfal_transfer_mode": "auto",
    "gfal_isolation": "auto",
}


def _get(section: str, fallback: str | None, option: str) -> Any:
    from pipekit.config import Config

    cfg = Config.instance()
    for sec in (section, fallback):
        if sec and cfg.has_option(sec, option):
            value = cfg.get_expanded(sec, option, None)
            if value is not None:
                return value
    return _DEFAULTS.get(option)


def _bases(value: Any) -> list[str]:
    from pipekit.brace import brace_expand

    if not value:
        return []
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return [v.strip() for v in brace_expand(str(value).strip()) if v.strip()]


def _value(raw: Any) -> Any:
    """An option value for fsspec: JSON when it parses (numbers, booleans, dicts), else the string."""
    if not isinstance(raw, str):
        return raw
    low = raw.strip().lower()
    if low in ("true", "false"):
        return low == "true"
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def _perm(section: str, option: str, raw: Any) -> int | None:
    if raw in (None, ""):
        return None
    if isinstance(raw, int):
        return raw
    try:
        return int(str(raw), 8) if not str(raw).startswith("0o") else int(str(raw), 0)
    except ValueError:
        raise ConfigError(
            f"[{section}] {option} = {raw!r} is not an octal permission (e.g. 0o660)"
        ) from None


def _choice(section: str, option: str, raw: Any, allowed: tuple[str, ...]) -> str:
    value = str(raw).strip().lower()
    if value not in allowed:
        raise ConfigError(f"[{section}] {option} = {raw!r} is not valid; use {', '.join(allowed)}")
    return value


def read_fs_options(section: str, fallback: str | None = None) -> dict[str, Any]:
    """All options of a remote file-system *section* (falling back to *fallback*), parsed."""
    from pipekit.config import Config, to_bool
    from pipekit.humanize import parse_bytes, parse_duration

    cfg = Config.instance()
    if not cfg.has_section(section) and section != fallback:
        raise ConfigError(
            f"law.cfg has no section [{section}] to configure a remote file system; "
            f"add it with at least a 'base' option"
        )

    def get(option: str) -> Any:
        return _get(section, fallback, option)

    def typed(option: str, conv: Any) -> Any:
        raw = get(option)
        try:
            return conv(raw)
        except (TypeError, ValueError):
            raise ConfigError(f"[{section}] {option} = {raw!r} is not valid") from None

    def lock_timeout() -> float:
        explicit = any(cfg.has_option(s, "cache_lock_timeout") for s in (section, fallback) if s)
        if not explicit and get("cache_wait_delay") and get("cache_max_waits"):  # law's spelling
            return parse_duration(get("cache_wait_delay")) * int(get("cache_max_waits"))
        return parse_duration(get("cache_lock_timeout"))

    checksum = str(get("checksum") or "").strip().lower()
    opts: dict[str, Any] = {
        "section": section,
        "base": _bases(get("base")),
        "bases": {op: _bases(get("base_" + op)) for op in BASE_OPERATIONS if get("base_" + op)},
        "retries": typed("retries", int),
        "retry_delay": typed("retry_delay", lambda v: parse_duration(v)),
        "request_timeout": typed("request_timeout", lambda v: parse_duration(v)),
        "stall_warning": typed("stall_warning", lambda v: parse_duration(v)),
        "random_base": typed("random_base", to_bool),
        "validate_copy": typed("validate_copy", to_bool),
        "checksum": None if checksum in ("", "none", "false", "no") else checksum,
        "use_cache": typed("use_cache", to_bool),
        "cache_root": get("cache_root"),
        "cache_max_size": typed("cache_max_size", lambda v: parse_bytes(v, input_unit="MB")),
        "cache_mtime_patience": typed("cache_mtime_patience", float),
        "cache_file_perm": _perm(section, "cache_file_perm", get("cache_file_perm")),
        "cache_dir_perm": _perm(section, "cache_dir_perm", get("cache_dir_perm")),
        "cache_lock_timeout": typed("cache_lock_timeout", lambda _: lock_timeout()),
        "file_interface": str(get("file_interface")).strip().lower(),
        "transfer_timeout": typed("gfal_transfer_timeout", float),
        "transfer_nbstreams": typed("gfal_transfer_nbstreams", int),
        "transfer_mode": str(get("gfal_transfer_mode")).strip().lower(),
        "isolation": _choice(section, "gfal_isolation", get("gfal_isolation"),
                             ("auto", "always", "never")),
    }
    storage: dict[str, Any] = {}
    for sec in (fallback, section):  # the named section wins
        for option in cfg.options(sec) if sec and cfg.has_section(sec) else []:
            for prefix in ("fsspec_", "s3_"):
                if option.startswith(prefix):
                    storage[option[len(prefix) :]] = _value(cfg.get_expanded(sec, option, None))
    opts["storage_options"] = storage
    return opts


def choose_interface(opts: dict[str, Any]) -> str:
    """``"gfal"`` or ``"fsspec"`` for the options' ``file_interface`` (resolving ``auto``)."""
    from pipekit.target.remote.fsspec import OBJECT_STORES

    kind = opts.get("file_interface") or "auto"
    if kind not in ("auto", "gfal", "fsspec"):
        raise ConfigError(
            f"[{opts.get('section')}] file_interface = {kind!r}; use auto, gfal or fsspec"
        )
    if kind != "auto":
        return kind
    scheme = split_scheme(opts["base"][0])[0] if opts.get("base") else ""
    if scheme in OBJECT_STORES:
        return "fsspec"  # gfal2's S3 plugin cannot list key prefixes
    try:
        from pipekit.target.remote.gfal import import_gfal2

        import_gfal2()
        return "gfal"
    except ImportError:
        return "fsspec"


def make_file_interface(opts: dict[str, Any], **extra: Any) -> RemoteFileInterface:
    """The file interface for parsed options (see :func:`read_fs_options`)."""
    if not opts.get("base"):
        raise ConfigError(
            f"no base URL for the remote file system [{opts.get('section')}]; set "
            f"'base' in that section of law.cfg (e.g. base: root://host.org//store)"
        )
    common = dict(
        base=opts["base"],
        bases=opts.get("bases"),
        retries=opts["retries"],
        retry_delay=opts["retry_delay"],
        random_base=opts["random_base"],
        config_section=opts.get("section"),
        request_timeout=opts["request_timeout"],
        stall_warning=opts["stall_warning"],
    )
    if choose_interface(opts) == "gfal":
        from pipekit.target.remote.gfal import GFALFileInterface

        return GFALFileInterface(
            transfer_timeout=opts["transfer_timeout"],
            transfer_nbstreams=opts["transfer_nbstreams"],
            transfer_mode=opts["transfer_mode"],
            checksum=opts["checksum"],
            isolation=opts.get("isolation", "auto"),
            **common,
            **extra,
        )
    from pipekit.target.remote.fsspec import FSSpecFileInterface

    return FSSpecFileInterface(storage_options=opts.get("storage_options"), **common, **extra)


def make_cache(opts: dict[str, Any], fs_name: str) -> Any:
    """The :class:`RemoteCache` of the options, or None without ``cache_root``."""
    import hashlib

    from pipekit.target.remote.cache import RemoteCache

    if not opts.get("cache_root"):
        return None
    key = f"{fs_name}_{hashlib.sha1(opts['base'][0].encode()).hexdigest()[:8]}"
    return RemoteCache(
        opts["cache_root"],
        key,
        max_size=opts["cache_max_size"],
        mtime_patience=opts["cache_mtime_patience"],
        file_perm=opts["cache_file_perm"],
        dir_perm=opts["cache_dir_perm"],
        lock_timeout=opts["cache_lock_timeout"],
    )


class _DefaultInstance:
    """``cls.default_instance``: the file system of the default section, None when not configured."""

    def __get__(self, obj: Any, cls: type) -> Any:
        try:
            return cls.from_section(None)
        except ConfigError:
            return None


class ConfiguredFileSystem(RemoteFileSystem):
    """
    A remote file system configured from a law.cfg section. The section is the one given, or the
    one named by ``[target] <default_section_option>``, or :attr:`default_section`. Keyword
    arguments override options of the section (``base=...``, ``retries=...``).
    """

    #: the section read when none is given and ``[target]`` names none
    default_section = "remote_fs"
    #: the ``[target]`` option naming the default section
    default_section_option = "default_remote_fs"
    #: ``WLCGFileSystem.default_instance`` as in law (None when the config lacks a base)
    default_instance = _DefaultInstance()

    def __init__(self, section: str | None = None, **kwargs: Any):
        section = section or self.resolve_default_section()
        opts = read_fs_options(section, self.default_section)
        for key, value in kwargs.items():
            opts[key] = _bases(value) if key == "base" else value
        self.config_section = section
        self.options = opts
        fi = self.make_interface(opts)
        super().__init__(
            fi,
            name=section,
            validate_copy=opts["validate_copy"],
            use_cache=opts["use_cache"],
            cache=make_cache(opts, section),
        )

    def make_interface(self, opts: dict[str, Any]) -> RemoteFileInterface:
        """The file interface for the parsed options (subclasses add backend settings)."""
        return make_file_interface(opts)

    @classmethod
    def resolve_default_section(cls) -> str:
        from pipekit.config import Config

        return (
            Config.instance().get_expanded("target", cls.default_section_option, None)
            or cls.default_section
        )

    @classmethod
    def from_section(cls, section: str | None = None) -> ConfiguredFileSystem:
        """The shared instance for *section* (one per configuration, so targets share counters)."""
        from pipekit.config import Config

        section = section or cls.resolve_default_section()
        # kept on the Config object: a new configuration (Config.reset()) means new file systems
        instances = Config.instance().__dict__.setdefault("_pipekit_remote_fs", {})
        fs = instances.get((cls, section))
        if fs is None:
            fs = instances[(cls, section)] = cls(section)
        return fs
