"""
Local disk: :class:`LocalFileSystem` and the local targets.

Relative paths resolve against the working directory at the moment the target is created
(law 0.1.21 resolves them against ``/``), or against the ``base`` of a named file system from
law.cfg (``fs="local_fs_data"``). Every write is atomic: ``dump``, ``open("w")``,
``localize("w")`` and ``copy_to`` write a hidden temporary sibling and rename it into place, so
a process killed mid-write never leaves a file at the final path.
"""

from __future__ import annotations

import contextlib
import errno
import fnmatch
import os
import shutil
import tempfile
import uuid
from typing import Any, Iterator

from pipekit.config import Config
from pipekit.errors import ConfigError, TargetExistsError, TargetMissingError, UsageError
from pipekit.target.atomic import AtomicFile
from pipekit.target.file import (
    FileSystem,
    FileSystemDirectoryTarget,
    FileSystemFileTarget,
    FileSystemTarget,
    get_path,
)
from pipekit.target.tmpnames import StaleSweep, tmp_name

__all__ = [
    "LocalFileSystem",
    "LocalTarget",
    "LocalFileTarget",
    "LocalDirectoryTarget",
    "AtomicLocalFile",
    "tmp_sibling_path",
    "tmp_path",
    "replace_path",
]


def _mtime(path: str) -> float | None:
    try:
        return os.lstat(path).st_mtime
    except FileNotFoundError:
        return None


def _remove_tmp(path: str) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    else:
        os.remove(path)


#: removes what killed writers left in a directory, once per directory and process
_stale = StaleSweep(os.listdir, _mtime, _remove_tmp)


def tmp_sibling_path(path: str) -> str:
    """
    A hidden, unique temporary name next to *path* that keeps its extensions. The first one in
    a directory also removes the temporaries that killed writers left there
    (:mod:`pipekit.target.tmpnames`).
    """
    dirname, basename = os.path.split(path)
    _stale.sweep(dirname or ".")
    return os.path.join(dirname, tmp_name(basename))


def replace_path(src: str, dst: str) -> None:
    """
    Rename *src* to *dst*, replacing what is there. A directory replacing a directory (which a
    rename cannot do) first moves the old one aside and deletes it only once the new one is in
    place, so a failure or a kill never loses both.
    """
    if not (os.path.isdir(src) and os.path.isdir(dst) and not os.path.islink(dst)):
        os.replace(src, dst)
        return
    old = tmp_sibling_path(dst)
    os.rename(dst, old)
    try:
        os.replace(src, dst)
    except BaseException:
        os.rename(old, dst)
        raise
    shutil.rmtree(old, ignore_errors=True)


class AtomicLocalFile(AtomicFile):
    """
    A file opened for writing at a temporary sibling of *path*. :meth:`close` renames it into
    place; leaving a ``with`` block through an exception discards it instead.
    """

    def __init__(self, path: str, mode: str = "w", perm: int | None = None, **kwargs: Any):
        self.path = path
        self.tmp_path = tmp_sibling_path(path)
        self.perm = perm
        if "a" in mode and os.path.exists(path):
            shutil.copyfile(path, self.tmp_path)
        self._open(mode, **kwargs)

    def _commit(self) -> None:
        if self.perm is not None:
            os.chmod(self.tmp_path, self.perm)
        os.replace(self.tmp_path, self.path)


class _DefaultLocalFileSystem:
    """``LocalFileSystem.default_instance``: the file system of ``[target] default_local_fs``."""

    def __get__(self, obj: Any, cls: type) -> LocalFileSystem:
        # every LocalTarget created without fs comes here: answer from a per-class cache that
        # is valid as long as the configuration object is the same
        cached = cls.__dict__.get("_default_cache")
        if cached is not None and cached[0] is Config._instance:
            return cached[1]
        fs = cls.from_section(None)
        cls._default_cache = (Config._instance, fs)
        return fs


class LocalFileSystem(FileSystem):
    """
    The local disk. Relative paths resolve against *base* when the file system has one, and
    against the working directory otherwise.

    As in law, a file system may come from a law.cfg section: ``LocalFileSystem("local_fs_data")``
    (or ``LocalFileTarget("x.json", fs="local_fs_data")``) reads ``base`` and ``local_root_depth``
    from ``[local_fs_data]``. The default file system (``[target] default_local_fs``, normally
    ``[local_fs]``) never has a base: relative paths of ``LocalFileTarget("x.json")`` always
    resolve against the working directory (law's default base ``/`` is accepted and ignored).
    """

    name = "local_fs"

    #: the file system of the default section, shared (``LocalFileSystem.default_instance``)
    default_instance = _DefaultLocalFileSystem()

    def __init__(
        self,
        section: str | None = None,
        base: str | None = None,
        name: str | None = None,
        local_root_depth: int | None = None,
        **kwargs: Any,
    ):
        if section and base:
            raise UsageError(
                f"LocalFileSystem(section={section!r}, base={base!r}) is ambiguous: give either "
                f"the law.cfg section that holds the base, or the base itself"
            )
        self.config_section = None
        depth = 1
        if base is None:
            self.config_section, base, depth = _read_local_fs_section(section)
        self.base = os.path.abspath(os.path.expanduser(base)) if base else None
        self.name = name or self.config_section or self.name
        #: path components of the mount checked by mirrored targets (``/eos`` for 1)
        self.local_root_depth = depth if local_root_depth is None else int(local_root_depth)

    @classmethod
    def from_section(cls, section: str | None = None) -> LocalFileSystem:
        """The shared file system of a law.cfg *section* (None: the default section)."""
        from pipekit.config import Config

        # kept on the Config object: a new configuration (Config.reset()) means new file systems
        instances = Config.instance().__dict__.setdefault("_pipekit_local_fs", {})
        fs = instances.get((cls, section))
        if fs is None:
            fs = instances[(cls, section)] = cls(section)
        return fs

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name}, base={self.base or 'working directory'})"

    def __eq__(self, other: Any) -> bool:
        # paths of local targets are absolute: all local file systems reach the same files
        return isinstance(other, LocalFileSystem)

    def __hash__(self) -> int:
        return hash("local_fs")

    # -- paths ----------------------------------------------------------------------------------

    def abspath(self, path: str) -> str:
        path = str(path)
        if path.startswith("file://"):
            path = path[7:]
        if "$" in path:
            path = os.path.expandvars(path)
        if path.startswith("~"):
            path = os.path.expanduser(path)
        if not path.startswith("/"):
            path = os.path.join(self.base or os.getcwd(), path)
        return os.path.normpath(path)

    def uri(self, path: str, scheme: bool = True, **kwargs: Any) -> str:
        return ("file://" if scheme else "") + self.abspath(path)

    def dirname(self, path: str) -> str:
        return os.path.dirname(path)

    def basename(self, path: str) -> str:
        return os.path.basename(path)

    def join(self, *parts: str) -> str:
        return os.path.join(*parts)

    # -- queries --------------------------------------------------------------------------------

    def exists(self, path: str, stat: bool = False) -> Any:
        try:
            st = os.stat(path)
        except (FileNotFoundError, NotADirectoryError):
            return False
        return st if stat else True

    def stat(self, path: str) -> os.stat_result:
        try:
            return os.stat(path)
        except FileNotFoundError:
            raise TargetMissingError(f"cannot stat {path}: it does not exist") from None

    def isdir(self, path: str) -> bool:
        return os.path.isdir(path)

    def isfile(self, path: str) -> bool:
        return os.path.isfile(path)

    def listdir(self, path: str, pattern: str | None = None, type: str | None = None) -> list[str]:  # noqa: A002
        try:
            with os.scandir(path) as it:
                entries = list(it)
        except FileNotFoundError:
            raise TargetMissingError(f"cannot list {path}: it does not exist") from None
        names = []
        for e in entries:
            if pattern and not fnmatch.fnmatch(e.name, pattern):
                continue
            if type == "f" and e.is_dir():
                continue
            if type == "d" and not e.is_dir():
                continue
            names.append(e.name)
        return names

    def existing_names(self, dirpath: str) -> set[str] | None:
        try:
            return set(os.listdir(dirpath))
        except (FileNotFoundError, NotADirectoryError):
            return None

    def walk(self, path: str, max_depth: int = -1):
        base_depth = path.rstrip("/").count("/")
        for root, dirs, files in os.walk(path):
            depth = root.rstrip("/").count("/") - base_depth
            yield root, dirs, files, depth
            if 0 <= max_depth <= depth:
                del dirs[:]

    def glob(self, pattern: str, cwd: str | None = None) -> list[str]:
        import glob as _glob

        if cwd and not os.path.isabs(pattern):
            pattern = os.path.join(cwd, pattern)
        return sorted(_glob.glob(self.abspath(pattern)))

    # -- changes --------------------------------------------------------------------------------

    def chmod(self, path: str, perm: int | None, silent: bool = False) -> bool:
        if perm is None:
            return False
        try:
            os.chmod(path, perm)
        except FileNotFoundError:
            if silent:
                return False
            raise TargetMissingError(f"cannot chmod {path}: it does not exist") from None
        return True

    def remove(self, path: str, recursive: bool = True, silent: bool = True) -> bool:
        try:
            if os.path.isdir(path) and not os.path.islink(path):
                if recursive:
                    shutil.rmtree(path)
                else:
                    os.rmdir(path)
            else:
                os.remove(path)
        except FileNotFoundError:
            if silent:
                return False
            raise TargetMissingError(f"cannot remove {path}: it does not exist") from None
        return True

    def mkdir(self, path: str, perm: int | None = None, recursive: bool = True, silent: bool = True) -> bool:
        if os.path.isdir(path):
            if silent:
                return False
            raise TargetExistsError(f"cannot create directory {path}: it exists")
        if recursive:
            os.makedirs(path, exist_ok=True)
        else:
            try:
                os.mkdir(path)
            except FileExistsError:
                if silent and os.path.isdir(path):  # made meanwhile by another process
                    return False
                raise
        if perm is not None:
            os.chmod(path, perm)
        return True

    def touch(self, path: str, perm: int | None = None) -> None:
        with open(path, "a"):
            os.utime(path, None)
        if perm is not None:
            os.chmod(path, perm)

    def copy(self, src: str, dst: str, perm: int | None = None) -> str:
        if not os.path.exists(src):
            raise TargetMissingError(f"cannot copy {src}: it does not exist")
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        tmp = tmp_sibling_path(dst)
        try:
            if os.path.isdir(src):
                shutil.copytree(src, tmp)
            else:
                shutil.copy2(src, tmp)
            if perm is not None:
                os.chmod(tmp, perm)
            replace_path(tmp, dst)
        except BaseException:
            self.remove(tmp, silent=True)
            raise
        return dst

    def move(self, src: str, dst: str) -> str:
        if not os.path.exists(src):
            raise TargetMissingError(f"cannot move {src}: it does not exist")
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        try:
            replace_path(src, dst)
        except OSError as e:
            if e.errno != errno.EXDEV:
                raise
            # across devices: copy atomically, then remove the source
            self.copy(src, dst)
            self.remove(src)
        return dst

    def open(self, path: str, mode: str, perm: int | None = None, **kwargs: Any):  # noqa: A003
        if any(c in mode for c in "wax"):
            if "x" in mode and os.path.exists(path):
                raise TargetExistsError(f"cannot create {path}: it exists")
            return AtomicLocalFile(path, mode, perm=perm, **kwargs)
        try:
            return open(path, mode, **kwargs)  # noqa: SIM115
        except FileNotFoundError:
            raise TargetMissingError(f"cannot open {path}: it does not exist") from None

    def copy_to_local(self, src: str, dst: str) -> str:
        return self.copy(src, dst)

    def copy_from_local(self, src: str, dst: str, perm: int | None = None) -> str:
        return self.copy(src, dst, perm=perm)

    @contextlib.contextmanager
    def localize_read(self, path: str, **kwargs: Any) -> Iterator[str]:
        yield path

    @contextlib.contextmanager
    def localize_write(self, path: str, is_dir: bool = False, append: bool = False,
                       perm: int | None = None, **kwargs: Any) -> Iterator[str]:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = tmp_sibling_path(path)
        if append and os.path.exists(path):
            (shutil.copytree if is_dir else shutil.copy2)(path, tmp)
        elif is_dir:
            os.mkdir(tmp)
        try:
            yield tmp
            if not os.path.exists(tmp):
                return  # nothing was written: leave the final path as it was
            if perm is not None:
                os.chmod(tmp, perm)
            replace_path(tmp, path)
        finally:
            self.remove(tmp, silent=True)


def _read_local_fs_section(section: str | None) -> tuple[str, str | None, int]:
    """``(section, base, local_root_depth)`` of a local file-system section of law.cfg."""
    from pipekit.config import Config

    cfg = Config.instance()
    default = cfg.get_expanded("target", "default_local_fs", None) or "local_fs"
    section = section or default
    if section != default and not cfg.has_section(section):
        raise ConfigError(
            f"law.cfg has no section [{section}] to configure a local file system; add it, "
            f"e.g. [{section}] base: /path/to/data"
        )

    def get(sec: str, option: str) -> Any:
        return cfg.get_expanded(sec, option, None) if cfg.has_section(sec) else None

    base = get(section, "base")
    if section == default:
        if base not in (None, "", "/"):
            raise ConfigError(
                f"[{section}] base: {base} - the default local file system has no base: "
                f"relative paths of local targets resolve against the working directory. Put "
                f"the base into a section of its own ([local_fs_data] base: {base}) and use "
                f'LocalFileTarget(path, fs="local_fs_data")'
            )
        base = None
    depth = get(section, "local_root_depth") or get(default, "local_root_depth") or 1
    try:
        return section, base or None, int(depth)
    except ValueError:
        raise ConfigError(f"[{section}] local_root_depth = {depth!r} is not an integer") from None


def tmp_path(ext: Any = None, tmp_dir: str | None = None) -> str:
    """
    A new unique path in *tmp_dir*, ``[target] tmp_dir`` of the config or the system's temporary
    directory; *ext* (``"json"`` or ``".json"``) is appended. Nothing is created at the path.
    """
    from pipekit.config import Config

    base = tmp_dir or Config.instance().get_expanded("target", "tmp_dir", None) or tempfile.gettempdir()
    os.makedirs(base, exist_ok=True)
    suffix = ""
    if isinstance(ext, str) and ext:
        suffix = ext if ext.startswith(".") else "." + ext
    return os.path.join(base, f"pipekit_tmp_{uuid.uuid4().hex[:12]}{suffix}")


class LocalTarget(FileSystemTarget):
    """
    A path on the local disk. *fs* is a :class:`LocalFileSystem` or the name of a law.cfg
    section (``fs="local_fs_data"``: relative paths resolve against its ``base``). With *is_tmp*
    (True or an extension), *path* may be omitted: a unique temporary path is chosen and removed
    when the target is garbage collected.
    """

    def __init__(self, path: Any = None, fs: LocalFileSystem | None = None, is_tmp: Any = False,
                 tmp_dir: str | None = None, **kwargs: Any):
        if path is None:
            if not is_tmp:
                raise ValueError(f"{self.__class__.__name__} needs a path unless is_tmp is set")
            path = tmp_path(is_tmp, tmp_dir)
        self.is_tmp = bool(is_tmp)
        if fs is None:
            fs = LocalFileSystem.default_instance
        elif isinstance(fs, str):
            fs = LocalFileSystem.from_section(fs)
        super().__init__(get_path(path), fs=fs, **kwargs)

    def __del__(self) -> None:
        if getattr(self, "is_tmp", False) and os.path.exists(self.path):
            with contextlib.suppress(Exception):
                self.fs.remove(self.path, silent=True)

    @classmethod
    def file_class(cls) -> type:
        return LocalFileTarget

    @classmethod
    def directory_class(cls) -> type:
        return LocalDirectoryTarget


class LocalFileTarget(LocalTarget, FileSystemFileTarget):
    """A file on the local disk."""


class LocalDirectoryTarget(LocalTarget, FileSystemDirectoryTarget):
    """A directory on the local disk."""
