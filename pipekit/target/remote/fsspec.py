"""
:class:`FSSpecFileInterface`: remote storage through fsspec (pip-installable).

Any fsspec protocol whose package is installed works: ``s3://`` (s3fs), ``gs://`` (gcsfs),
``sftp://`` (paramiko), ``root://`` (fsspec-xrootd), ``webdav://`` (webdav4), ``file://``, ...
It is the default where gfal2 is absent, and always used for S3 (gfal2 cannot list S3 prefixes).
Install the S3 part with ``pip install 'pipekit[fsspec]'``.

Object stores (S3, GCS, Azure) have no directories and an upload appears only once complete,
so uploads go straight to their final key (no temporary name, which would cost a server-side copy
and a delete) and ``mkdir`` is a no-op. fsspec's own listing cache is switched off (another
process may have written since) and s3fs's internal retries are reduced to one attempt: pipekit
retries with backoff and fail-over itself.
"""

from __future__ import annotations

import datetime
import os
import posixpath
import stat as stat_module
from typing import Any

from pipekit.errors import MissingExtraError, RemoteError, TargetExistsError, TargetMissingError
from pipekit.target.remote.interface import (
    ListEntry,
    RemoteFileInterface,
    RemoteStat,
    TransientRemoteError,
    classify_errno,
    split_scheme,
)

__all__ = ["FSSpecFileInterface", "OBJECT_STORES"]

#: protocols without directories where a single upload is atomic
OBJECT_STORES = frozenset({"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "oss"})

#: the package that provides each protocol, for the error message when it is missing
_PACKAGES = {
    "s3": "s3fs",
    "s3a": "s3fs",
    "gs": "gcsfs",
    "gcs": "gcsfs",
    "az": "adlfs",
    "abfs": "adlfs",
    "sftp": "paramiko",
    "root": "fsspec-xrootd",
    "webdav": "webdav4",
    "http": "aiohttp",
    "https": "aiohttp",
}


class FSSpecFileInterface(RemoteFileInterface):
    """
    Remote operations through an fsspec file system. *storage_options* go to
    ``fsspec.filesystem(protocol, ...)`` (for S3 e.g. ``endpoint_url``, ``key``, ``secret``).
    """

    name = "fsspec"

    def __init__(
        self,
        base: Any,
        bases: dict | None = None,
        storage_options: dict | None = None,
        **kwargs: Any,
    ):
        super().__init__(base, bases, **kwargs)
        protocols = {
            split_scheme(b)[0] or "file" for bs in [self.base, *self.bases.values()] for b in bs
        }
        if len(protocols) != 1:
            raise ValueError(
                f"all bases of one fsspec file system need the same protocol, got "
                f"{', '.join(sorted(protocols))}"
            )
        self.protocol = protocols.pop()
        self.storage_options = dict(storage_options or {})
        self.atomic_upload = self.protocol in OBJECT_STORES
        # s3fs (botocore) ends a request after read_timeout; other protocols: warnings only
        self.enforces_request_timeout = self.protocol in ("s3", "s3a")
        self.has_directories = self.protocol not in OBJECT_STORES

    def filesystem(self) -> Any:
        """The fsspec file system of this thread in this process (async loops do not survive a fork)."""
        fs = getattr(self._local, "fs", None)
        if fs is None or self._local.pid != os.getpid():
            try:
                import fsspec

                options = dict(self.storage_options)
                options.setdefault("skip_instance_cache", True)
                if self.protocol in ("s3", "s3a"):
                    options = _s3_options(options, self.request_timeout)
                fs = fsspec.filesystem(self.protocol, **options)
            except ImportError as e:
                pkg = _PACKAGES.get(self.protocol, getattr(e, "name", None) or "fsspec")
                raise MissingExtraError(pkg, "fsspec", f"{self.protocol}:// storage") from None
            if self.protocol in ("s3", "s3a"):
                fs.retries = 1  # pipekit retries (with fail-over); s3fs would add 5 more each time
            self._local.fs = fs
            self._local.pid = os.getpid()
        return fs

    def _p(self, uri: str) -> str:
        return self.filesystem()._strip_protocol(uri)

    # -- errors ---------------------------------------------------------------------------------

    def classify(self, exc: BaseException, op: str, uri: str) -> Exception:
        cause = _connection_cause(exc)
        if cause is not None:
            # e.g. fsspec's HTTP file system raises FileNotFoundError for a refused connection:
            # an unreachable server is not a missing file
            return TransientRemoteError(f"{type(cause).__name__}: {cause}")
        if isinstance(exc, FileNotFoundError):
            return TargetMissingError(f"{op} of {uri}: it does not exist")
        if isinstance(exc, FileExistsError):
            return TargetExistsError(f"{op} of {uri}: it exists already")
        if isinstance(
            exc,
            (
                PermissionError,
                NotADirectoryError,
                IsADirectoryError,
                NotImplementedError,
                ValueError,
                TypeError,
            ),
        ):
            return RemoteError(f"{op} of {uri} failed: {type(exc).__name__}: {exc}")
        if isinstance(exc, OSError) and isinstance(exc.errno, int):
            return classify_errno(exc.errno, f"{exc}", op, uri)
        # connection refused/reset, timeouts, botocore/aiohttp client errors, server errors
        return TransientRemoteError(f"{type(exc).__name__}: {exc}")

    # -- primitives -----------------------------------------------------------------------------

    def _do_stat(self, uri: str) -> RemoteStat:
        return _to_stat(self.filesystem().info(self._p(uri)))

    def _do_listdir(self, uri: str) -> list[ListEntry]:
        path = self._p(uri).rstrip("/")
        infos = self.filesystem().ls(path, detail=True)
        if (
            len(infos) == 1
            and infos[0].get("type") != "directory"
            and infos[0]["name"].rstrip("/") == path
        ):
            raise FileNotFoundError(f"{uri} is a file, not a directory")
        return [
            ListEntry(
                posixpath.basename(i["name"].rstrip("/")),
                i.get("type") == "directory",
                i.get("size"),
                _to_stat(i).st_mtime or None,
            )
            for i in infos
            if i["name"].rstrip("/") != path
        ]

    def _do_mkdir(self, uri: str, perm: int | None, recursive: bool) -> None:
        fs = self.filesystem()
        if recursive:
            fs.makedirs(self._p(uri), exist_ok=True)
        else:
            fs.mkdir(self._p(uri), create_parents=False)

    def _do_unlink(self, uri: str) -> None:
        self.filesystem().rm_file(self._p(uri))

    def _do_rmdir(self, uri: str) -> None:
        self.filesystem().rmdir(self._p(uri))

    def _do_rename(self, src_uri: str, dst_uri: str) -> None:
        self.filesystem().mv(self._p(src_uri), self._p(dst_uri))

    def _do_upload(self, local_path: str, uri: str) -> None:
        self.filesystem().put_file(local_path, self._p(uri))

    def _do_download(self, uri: str, local_path: str) -> None:
        self.filesystem().get_file(self._p(uri), local_path)

    def _do_copy(self, src_uri: str, dst_uri: str) -> bool:
        self.filesystem().copy(self._p(src_uri), self._p(dst_uri))
        return True

    def remove_tree(self, path: str) -> bool:
        self.call(
            "remove",
            path,
            lambda b: self.filesystem().rm(self._p(self.uri(path, base=b)), recursive=True),
        )
        return True


#: exception class names (from aiohttp, botocore, urllib3, ...) that mean "could not talk to
#: the server"; matched by name so that none of these libraries has to be imported
_CONNECTION_ERRORS = {
    "ClientConnectorError",
    "ClientOSError",
    "ServerDisconnectedError",
    "ServerTimeoutError",
    "EndpointConnectionError",
    "ConnectTimeoutError",
    "ReadTimeoutError",
    "ConnectionClosedError",
    "NewConnectionError",
}


def _connection_cause(exc: BaseException) -> BaseException | None:
    """The connection failure behind *exc* (itself or in its cause chain), if there is one."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        names = {c.__name__ for c in type(exc).__mro__}
        if isinstance(exc, (ConnectionError, TimeoutError)) or names & _CONNECTION_ERRORS:
            return exc
        exc = exc.__cause__ or exc.__context__
    return None


def _to_stat(info: dict) -> RemoteStat:
    isdir = info.get("type") == "directory"
    mtime = info.get(
        "mtime", info.get("LastModified", info.get("last_modified", info.get("created")))
    )
    if isinstance(mtime, datetime.datetime):
        mtime = mtime.timestamp()
    mode = stat_module.S_IFDIR | 0o755 if isdir else stat_module.S_IFREG | 0o644
    return RemoteStat(
        st_size=int(info.get("size") or 0), st_mtime=float(mtime or 0.0), st_mode=mode
    )


def _s3_options(options: dict, request_timeout: float = 60.0) -> dict:
    """s3fs options: endpoint_url moved into client_kwargs, timeouts, no botocore retries."""
    options = dict(options)
    client = dict(options.pop("client_kwargs", None) or {})
    if "endpoint_url" in options:
        client.setdefault("endpoint_url", options.pop("endpoint_url"))
    if "region" in options:
        client.setdefault("region_name", options.pop("region"))
    if client:
        options["client_kwargs"] = client
    config = dict(options.pop("config_kwargs", None) or {})
    config.setdefault("connect_timeout", 10)
    config.setdefault("read_timeout", request_timeout)
    config.setdefault("retries", {"max_attempts": 1})
    options["config_kwargs"] = config
    options.setdefault("use_listings_cache", False)
    return options
