"""
law's ``dropbox`` package: :class:`DropboxFileSystem` and its targets, through gfal2's Dropbox
plugin (``gfal2-plugin-dropbox``), configured from law.cfg::

    [dropbox_fs]                      # or [dropbox], or the section [target] default_dropbox_fs names
    base: dropbox://dropbox.com/my_analysis
    app_key: ...                      # law's dropbox_app_key etc. are read as well
    app_secret: ...
    access_token: ...

plus every option of a remote file system (retries, cache, ...; see
:mod:`pipekit.target.remote.config`). The credentials are handed to gfal2 as the options
``DROPBOX:OAUTH=2``, ``DROPBOX:APP_KEY``, ``DROPBOX:APP_SECRET`` and ``DROPBOX:ACCESS_TOKEN``.

Tested: configuration, credentials and URI construction only. No test talks to Dropbox (no
network in CI, and no Dropbox server can run locally).
"""

from __future__ import annotations

from typing import Any

from pipekit.errors import ConfigError
from pipekit.target.remote.base import RemoteDirectoryTarget, RemoteFileTarget, RemoteTarget
from pipekit.target.remote.config import ConfiguredFileSystem, make_file_interface
from pipekit.target.remote.interface import RemoteFileInterface

__all__ = ["DropboxFileSystem", "DropboxTarget", "DropboxFileTarget", "DropboxDirectoryTarget"]

_CREDENTIALS = ("app_key", "app_secret", "access_token")


class DropboxFileSystem(ConfiguredFileSystem):
    """Dropbox through gfal2; credentials from the section or as keyword arguments."""

    default_section = "dropbox_fs"
    default_section_option = "default_dropbox_fs"

    def __init__(
        self,
        section: str | None = None,
        app_key: str | None = None,
        app_secret: str | None = None,
        access_token: str | None = None,
        **kwargs: Any,
    ):
        self._given = {"app_key": app_key, "app_secret": app_secret, "access_token": access_token}
        super().__init__(section, **kwargs)

    @classmethod
    def resolve_default_section(cls) -> str:
        from pipekit.config import Config

        cfg = Config.instance()
        named = cfg.get_expanded("target", cls.default_section_option, None)
        if named:
            return named
        # older law versions (and the pipekit docs) also call the section [dropbox]
        return (
            "dropbox"
            if cfg.has_section("dropbox") and not cfg.has_section(cls.default_section)
            else cls.default_section
        )

    def credentials(self) -> dict[str, str]:
        """app_key, app_secret and access_token from the arguments or the config section."""
        from pipekit.config import Config

        cfg = Config.instance()
        found: dict[str, str] = {}
        for name in _CREDENTIALS:
            value = self._given.get(name)
            for sec in (self.config_section, self.default_section):
                for option in (name, "dropbox_" + name):
                    if not value and cfg.has_option(sec, option):
                        value = cfg.get_expanded(sec, option, None)
            if value:
                found[name] = str(value)
        missing = [n for n in _CREDENTIALS if n not in found]
        if missing:
            raise ConfigError(
                f"the Dropbox file system [{self.config_section}] lacks "
                f"{', '.join(missing)}; set them in that section of law.cfg or pass "
                f"them to DropboxFileSystem(...)"
            )
        return found

    def make_interface(self, opts: dict[str, Any]) -> RemoteFileInterface:
        creds = self.credentials()
        gfal_options = {
            "integer": [("DROPBOX", "OAUTH", 2)],
            "string": [
                ("DROPBOX", "APP_KEY", creds["app_key"]),
                ("DROPBOX", "APP_SECRET", creds["app_secret"]),
                ("DROPBOX", "ACCESS_TOKEN", creds["access_token"]),
            ],
        }
        if not opts.get("base"):
            raise ConfigError(
                f"no base URL for the Dropbox file system [{self.config_section}]; "
                f"set e.g. base: dropbox://dropbox.com/my_dir"
            )
        # the Dropbox plugin offers no checksums: copies are verified by size
        return make_file_interface(dict(opts, file_interface="gfal", checksum=None),
                                   gfal_options=gfal_options)


class DropboxTarget(RemoteTarget):
    """A path on a :class:`DropboxFileSystem` (*fs*: instance, section name or None)."""

    def __init__(self, path: str, fs: Any = None, **kwargs: Any):
        if fs is None or isinstance(fs, str):
            fs = DropboxFileSystem.from_section(fs)
        super().__init__(path, fs=fs, **kwargs)

    @classmethod
    def file_class(cls) -> type:
        return DropboxFileTarget

    @classmethod
    def directory_class(cls) -> type:
        return DropboxDirectoryTarget


class DropboxFileTarget(DropboxTarget, RemoteFileTarget):
    """A file on Dropbox."""


class DropboxDirectoryTarget(DropboxTarget, RemoteDirectoryTarget):
    """A directory on Dropbox."""
