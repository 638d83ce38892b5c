"""
From a path or URI written in a record (or given to ``pipekit provenance``) back to a target:
:func:`target_for` and :func:`fs_for_uri`.

A local path is a :class:`~pipekit.target.local.LocalFileTarget`. A URI (``root://``,
``davs://``, ``s3://`` ...) is looked up among the remote file systems configured in law.cfg
(any section with a ``base``; the longest matching base wins, so its credentials and options
apply); a URI no section covers gets a file system of its own with default options, which
works for servers that need no configuration (XRootD, WebDAV without authentication).
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["target_for", "fs_for_uri", "split_key"]

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def split_key(key: str) -> tuple[str, str]:
    """``(directory, name)`` of a record key (path or URI)."""
    d, _, n = key.rstrip("/").rpartition("/")
    return d, n


def is_uri(path: str) -> bool:
    """Whether *path* is a URI of remote storage (``file://`` is local)."""
    return "://" in path and bool(_SCHEME.match(path)) and not path.startswith("file://")


def target_for(path: str) -> Any:
    """The file target for a local path or a URI (see the module docstring)."""
    from pipekit.target.local import LocalFileTarget

    if not is_uri(path):
        return LocalFileTarget(path)
    from pipekit.target.remote.base import RemoteFileTarget

    fs = fs_for_uri(path)
    return RemoteFileTarget(fs.abspath(path), fs=fs)


def _configured_bases() -> list[tuple[str, str]]:
    """``[(base URL, section)]`` of every law.cfg section that configures a remote base."""
    from pipekit.config import Config
    from pipekit.target.remote.config import _bases

    cfg = Config.instance()
    found = []
    for section in cfg.sections():
        if not cfg.has_option(section, "base"):
            continue
        for base in _bases(cfg.get_expanded(section, "base", None)):
            if is_uri(base):
                found.append((base.rstrip("/"), section))
    return found


def fs_for_uri(uri: str) -> Any:
    """The remote file system for *uri* (cached per configuration)."""
    from pipekit.config import Config

    cache = Config.instance().__dict__.setdefault("_pipekit_provenance_fs", {})
    matches = [(b, s) for b, s in _configured_bases() if uri == b or uri.startswith(b + "/")]
    if matches:
        base, section = max(matches, key=lambda m: len(m[0]))
        key = ("section", section)
        if key not in cache:
            cache[key] = _section_fs(section)
        return cache[key]
    m = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*://[^/]*)(/*)", uri)
    root = m.group(1) + (m.group(2) or "/") if m else uri
    key = ("root", root)
    if key not in cache:
        cache[key] = _adhoc_fs(root)
    return cache[key]


def _section_fs(section: str) -> Any:
    from pipekit.target.remote.config import ConfiguredFileSystem

    class _Section(ConfiguredFileSystem):
        # a named section such as [wlcg_fs_analysis] falls back to [wlcg_fs], as in law
        default_section = (re.match(r"^(.+?_fs)_", section) or re.match(r"^(.*)$", section)).group(1)

    return _Section(section)


def _adhoc_fs(root: str) -> Any:
    from pipekit.target.remote.base import RemoteFileSystem
    from pipekit.target.remote.config import make_file_interface, read_fs_options

    opts = read_fs_options("remote_fs", "remote_fs")
    opts["base"] = [root]
    opts["section"] = f"(no section for {root})"
    return RemoteFileSystem(make_file_interface(opts), name="remote_fs")
