"""
The file-system target API shared by local and remote storage.

A :class:`FileSystem` knows how to do things with paths (stat, list, copy, open, ...); a
:class:`FileSystemTarget` is one path on one file system with the user-facing API (``exists``,
``parent``, ``sibling``, ``load``/``dump``, ``localize``, ``copy_to``, ...). Local disk and each
remote backend implement :class:`FileSystem`; the target classes are shared, so code written
against a local target works unchanged against XRootD or S3.
"""

from __future__ import annotations

import contextlib
import fnmatch
import os
import posixpath
import sys
from typing import Any, Iterator

import luigi

from pipekit.errors import TargetMissingError

__all__ = [
    "FileSystem",
    "FileSystemTarget",
    "FileSystemFileTarget",
    "FileSystemDirectoryTarget",
    "get_path",
    "split_tmp_name",
]


def get_path(target: Any) -> str:
    """The path of a target, or *target* itself when it is a string."""
    return getattr(target, "abspath", None) or getattr(target, "path", None) or str(target)


def split_tmp_name(basename: str) -> tuple[str, str]:
    """Split ``"data.tar.gz"`` into ``("data", ".tar.gz")`` so temporary names keep extensions."""
    lead = len(basename) - len(basename.lstrip("."))
    stem, dot, ext = basename[lead:].partition(".")
    return basename[:lead] + stem, (dot + ext) if dot else ""


class FileSystem:
    """
    Operations on paths of one storage system. Subclasses implement the abstract methods; paths
    are absolute within the file system (``/a/b.json``), URIs are built by :meth:`uri`.
    """

    #: short name used in representations and config sections
    name = "fs"
    #: whether :meth:`existing_names` lists a directory in one round trip
    lists_cheaply = True
    #: default permissions for new files and directories (None: leave to the umask/server)
    default_file_perm: int | None = None
    default_dir_perm: int | None = None

    # -- paths ----------------------------------------------------------------------------------

    def abspath(self, path: str) -> str:
        return posixpath.normpath("/" + str(path).lstrip("/")) if path else "/"

    def uri(self, path: str, **kwargs: Any) -> str:
        return self.abspath(path)

    def dirname(self, path: str) -> str:
        return posixpath.dirname(path)

    def basename(self, path: str) -> str:
        return posixpath.basename(path)

    def join(self, *parts: str) -> str:
        return posixpath.join(*parts)

    # -- queries --------------------------------------------------------------------------------

    def exists(self, path: str, stat: bool = False) -> Any:
        raise NotImplementedError

    def stat(self, path: str) -> Any:
        raise NotImplementedError

    def isdir(self, path: str) -> bool:
        raise NotImplementedError

    def isfile(self, path: str) -> bool:
        st = self.exists(path, stat=True)
        return bool(st) and not self.isdir(path)

    def listdir(self, path: str, pattern: str | None = None, type: str | None = None) -> list[str]:  # noqa: A002
        raise NotImplementedError

    def existing_names(self, dirpath: str) -> set[str] | None:
        """Names in *dirpath* in one listing, or None when the directory does not exist."""
        try:
            return set(self.listdir(dirpath))
        except (FileNotFoundError, TargetMissingError):
            return None

    def walk(self, path: str, max_depth: int = -1) -> Iterator[tuple[str, list[str], list[str], int]]:
        """Yield ``(dirpath, dirnames, filenames, depth)``; *dirnames* may be pruned in place."""
        search = [(self.abspath(path), 0)]
        while search:
            base, depth = search.pop(0)
            dirs = self.listdir(base, type="d")
            files = self.listdir(base, type="f")
            yield base, dirs, files, depth
            if max_depth < 0 or depth < max_depth:
                search.extend((self.join(base, d), depth + 1) for d in dirs)

    def glob(self, pattern: str, cwd: str | None = None) -> list[str]:
        """Paths matching a shell *pattern* (``*``, ``?``, ``[]`` per path component)."""
        pattern = pattern if pattern.startswith("/") or cwd is None else self.join(cwd, pattern)
        parts = self.abspath(pattern).strip("/").split("/")
        paths = ["/"]
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            nxt = []
            for base in paths:
                if not any(c in part for c in "*?["):
                    cand = self.join(base, part)
                    if self.exists(cand):
                        nxt.append(cand)
                    continue
                if not self.isdir(base):
                    continue
                names = self.listdir(base, type=None if last else "d")
                nxt.extend(self.join(base, n) for n in sorted(names) if fnmatch.fnmatch(n, part))
            paths = nxt
        return paths

    # -- changes --------------------------------------------------------------------------------

    def chmod(self, path: str, perm: int | None, silent: bool = False) -> bool:
        raise NotImplementedError

    def remove(self, path: str, recursive: bool = True, silent: bool = True) -> bool:
        raise NotImplementedError

    def mkdir(self, path: str, perm: int | None = None, recursive: bool = True, silent: bool = True) -> bool:
        raise NotImplementedError

    def touch(self, path: str, perm: int | None = None) -> None:
        raise NotImplementedError

    def copy(self, src: str, dst: str, perm: int | None = None) -> str:
        raise NotImplementedError

    def move(self, src: str, dst: str) -> str:
        raise NotImplementedError

    def open(self, path: str, mode: str, **kwargs: Any):  # noqa: A003
        raise NotImplementedError

    # -- transfer to/from the local disk --------------------------------------------------------

    def copy_to_local(self, src: str, dst: str) -> str:
        raise NotImplementedError

    def copy_from_local(self, src: str, dst: str, perm: int | None = None) -> str:
        raise NotImplementedError

    @contextlib.contextmanager
    def localize_read(self, path: str, **kwargs: Any) -> Iterator[str]:
        """A local path holding the content of *path* for the duration of the block."""
        raise NotImplementedError

    @contextlib.contextmanager
    def localize_write(self, path: str, is_dir: bool = False, **kwargs: Any) -> Iterator[str]:
        """A local path to write to; moved/uploaded to *path* atomically when the block succeeds."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.name})"


class FileSystemTarget(luigi.Target):
    """One path on one :class:`FileSystem`; the base of file and directory targets."""

    #: "f" for file targets, "d" for directory targets
    type = None
    #: the file system class used when none is given
    default_fs: Any = None

    def __init__(self, path: str, fs: FileSystem | None = None, optional: bool = False,
                 **kwargs: Any):
        if fs is None:
            fs = self.default_fs() if callable(self.default_fs) else self.default_fs
        self.fs = fs
        self.path = fs.abspath(get_path(path))
        #: as in law: an optional output does not count when a task's completeness is checked
        self.optional = bool(optional)
        super().__init__()

    # -- representation -------------------------------------------------------------------------

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(fs={self.fs.name}, path={self.path})"

    def __eq__(self, other: Any) -> bool:
        return (
            isinstance(other, FileSystemTarget)
            and other.type == self.type
            and other.fs == self.fs
            and other.path == self.path
        )

    def __hash__(self) -> int:
        return hash((self.type, self.path))

    def repr(self, color: bool = False) -> str:
        return repr(self)

    # -- path API -------------------------------------------------------------------------------

    @property
    def abspath(self) -> str:
        return self.path

    @property
    def dirname(self) -> str:
        return self.fs.dirname(self.path)

    @property
    def basename(self) -> str:
        return self.fs.basename(self.path)

    @property
    def unique_basename(self) -> str:
        """Basename prefixed with a short hash of the full path (unique across directories)."""
        import hashlib

        return hashlib.sha1(self.uri().encode()).hexdigest()[:10] + "_" + self.basename

    def ext(self, n: int = 1) -> str:
        """The last *n* extensions without the leading dot (``"tar.gz"`` for n=2)."""
        parts = self.basename.split(".")[1:]
        return ".".join(parts[-n:]) if n > 0 else ".".join(parts)

    @property
    def parent(self) -> FileSystemDirectoryTarget | None:
        """The directory holding this target (None for the root)."""
        dirname = self.dirname
        if dirname == self.path:
            return None
        return self.directory_class()(dirname, fs=self.fs)

    def sibling(self, path: str, type: str | None = None, **kwargs: Any) -> FileSystemTarget:  # noqa: A002
        """A target next to this one: ``t.sibling("plot.png", "f")``."""
        parent = self.parent
        if parent is None:
            raise ValueError(f"{self!r} has no parent directory to hold a sibling")
        return parent.child(path, type=type, **kwargs)

    def uri(self, **kwargs: Any) -> str:
        return self.fs.uri(self.path, **kwargs)

    @classmethod
    def file_class(cls) -> type:
        raise NotImplementedError

    @classmethod
    def directory_class(cls) -> type:
        raise NotImplementedError

    # -- queries and changes --------------------------------------------------------------------

    def exists(self) -> bool:
        return bool(self.fs.exists(self.path))

    def stat(self) -> Any:
        return self.fs.stat(self.path)

    def remove(self, silent: bool = True, **kwargs: Any) -> bool:
        return self.fs.remove(self.path, silent=silent, **kwargs)

    def chmod(self, perm: int | None, silent: bool = False) -> bool:
        return self.fs.chmod(self.path, perm, silent=silent)

    def makedirs(self, perm: int | None = None) -> None:
        """Create the parent directory (and its parents)."""
        self.fs.mkdir(self.dirname, perm=perm, recursive=True, silent=True)

    # -- copy and move --------------------------------------------------------------------------

    def _resolve_dst(self, dst: Any) -> FileSystemTarget:
        """A destination target; a directory (target or existing path) receives our basename."""
        if isinstance(dst, FileSystemDirectoryTarget):
            return dst.child(self.basename, type=self.type)
        if isinstance(dst, FileSystemTarget):
            return dst
        cls = self.file_class() if self.type == "f" else self.directory_class()
        target = cls(dst, fs=self.fs)
        if self.fs.isdir(target.path):
            # never replace an existing directory given as a path: copy into it, as law does
            return self.directory_class()(target.path, fs=self.fs).child(self.basename, type=self.type)
        return target

    def copy_to(self, dst: Any, perm: int | None = None, **kwargs: Any) -> str:
        """Copy to *dst* (a target or path on this or any other file system); returns its path."""
        from pipekit.target.transfer import copy_target

        return copy_target(self, self._resolve_dst(dst), perm=perm, **kwargs)

    def move_to(self, dst: Any, perm: int | None = None, **kwargs: Any) -> str:
        """Move to *dst*; the source is removed after a successful copy."""
        from pipekit.target.transfer import move_target

        return move_target(self, self._resolve_dst(dst), perm=perm, **kwargs)

    def copy_from(self, src: Any, perm: int | None = None, **kwargs: Any) -> str:
        """Copy *src* (target or path on the same file system) to this target."""
        from pipekit.target.transfer import copy_target

        src_t = src if isinstance(src, FileSystemTarget) else type(self)(src, fs=self.fs)
        return copy_target(src_t, self, perm=perm, **kwargs)

    def copy_to_local(self, dst: Any = None, **kwargs: Any) -> str:
        """
        Copy to a local path (a new temporary path when *dst* is None); returns that path, which
        the caller owns and removes.
        """
        from pipekit.target.local import LocalDirectoryTarget, LocalFileTarget, tmp_path

        if dst is None:
            # not an is_tmp target: that would delete the copy as soon as it is garbage collected
            ext = split_tmp_name(self.basename)[1] if self.type == "f" else ""
            dst = (LocalFileTarget if self.type == "f" else LocalDirectoryTarget)(tmp_path(ext))
        elif not isinstance(dst, FileSystemTarget):
            dst = (LocalFileTarget if self.type == "f" else LocalDirectoryTarget)(dst)
        return self.copy_to(dst, **kwargs)

    def copy_from_local(self, src: Any, **kwargs: Any) -> str:
        from pipekit.target.local import LocalDirectoryTarget, LocalFileTarget
        from pipekit.target.transfer import copy_target

        if not isinstance(src, FileSystemTarget):
            src = (LocalFileTarget if self.type == "f" else LocalDirectoryTarget)(src)
        return copy_target(src, self, **kwargs)

    def move_to_local(self, dst: Any = None, **kwargs: Any) -> str:
        path = self.copy_to_local(dst, **kwargs)
        self.remove()
        return path

    def move_from_local(self, src: Any, **kwargs: Any) -> str:
        path = self.copy_from_local(src, **kwargs)
        from pipekit.target.local import LocalFileTarget

        (src if isinstance(src, FileSystemTarget) else LocalFileTarget(src)).remove()
        return path

    # -- localization ---------------------------------------------------------------------------

    @contextlib.contextmanager
    def localize(self, mode: str = "r", perm: int | None = None, **kwargs: Any) -> Iterator[Any]:
        """
        A local target standing in for this one during the block. ``"r"``: holds the current
        content. ``"w"``: a temporary local path that replaces this target atomically when the
        block ends without an exception (and is discarded otherwise). ``"a"``: like ``"w"`` but
        starting from the current content.
        """
        from pipekit.target.local import LocalDirectoryTarget, LocalFileTarget

        local_cls = LocalFileTarget if self.type == "f" else LocalDirectoryTarget
        if mode == "r":
            with self.fs.localize_read(self.path, is_dir=self.type == "d", **kwargs) as lpath:
                yield local_cls(lpath)
        elif mode in ("w", "a"):
            with self.fs.localize_write(self.path, is_dir=self.type == "d", append=mode == "a",
                                        perm=perm, **kwargs) as lpath:
                yield local_cls(lpath)
        else:
            raise ValueError(f"localize mode must be 'r', 'w' or 'a', got {mode!r}")


class FileSystemFileTarget(FileSystemTarget):
    """A file: adds :meth:`open`, :meth:`load`, :meth:`dump` and :meth:`touch`."""

    type = "f"

    def open(self, mode: str = "r", **kwargs: Any):  # noqa: A003
        """Open the file; ``"w"`` writes a temporary sibling renamed into place on close."""
        if "w" in mode or "a" in mode or "x" in mode:
            self.makedirs()
        return self.fs.open(self.path, mode, **kwargs)

    def touch(self, perm: int | None = None, **kwargs: Any) -> None:
        """Create the file (and its parent directories) when missing; update mtime otherwise."""
        self.makedirs()
        self.fs.touch(self.path, perm=perm)

    def load(self, *args: Any, formatter: str = "auto", **kwargs: Any) -> Any:
        """
        Read the file through a formatter chosen by extension (or by name). A missing file raises
        :class:`TargetMissingError` naming its URI.
        """
        from pipekit.target.formatter import find_formatter

        fmt = find_formatter(self.path, "load", formatter)
        missing = f"cannot load {self.uri()}: it does not exist"
        localized = False
        try:
            # no exists() first: on remote storage that is one more request, and the download
            # itself says whether the file is there
            with self.localize("r") as tmp:
                localized = True
                if not os.path.exists(tmp.path):  # local file systems localize without a check
                    raise TargetMissingError(missing)
                return fmt.load(tmp.path, *args, **kwargs)
        except TargetMissingError as e:
            if localized:
                raise
            raise TargetMissingError(missing) from e

    def dump(self, *args: Any, formatter: str = "auto", perm: int | None = None, **kwargs: Any) -> Any:
        """Write through a formatter chosen by extension (or by name); atomic."""
        from pipekit.target.formatter import find_formatter

        fmt = find_formatter(self.path, "dump", formatter)
        if fmt.dump_opens(*args, **kwargs):
            # the caller writes into the returned file: commit when it is closed, not now
            from pipekit.target.handle import PendingOutput

            context = self.localize("w", perm=perm)
            tmp = context.__enter__()
            try:
                return PendingOutput(fmt.dump(tmp.path, *args, **kwargs), context)
            except BaseException:
                context.__exit__(*sys.exc_info())
                raise
        with self.localize("w", perm=perm) as tmp:
            return fmt.dump(tmp.path, *args, **kwargs)

    @classmethod
    def file_class(cls) -> type:
        return cls


class FileSystemDirectoryTarget(FileSystemTarget):
    """A directory: adds :meth:`child`, :meth:`listdir`, :meth:`glob` and :meth:`walk`."""

    type = "d"

    def child(self, path: str, type: str | None = None, mkdir: bool = False, **kwargs: Any) -> FileSystemTarget:  # noqa: A002
        """A target below this directory; *type* ``"f"`` or ``"d"`` (inferred when it exists)."""
        full = self.fs.join(self.path, str(path))
        if type is None:
            type = "d" if self.fs.isdir(full) else "f"  # noqa: A001
        if type not in ("f", "d"):
            raise ValueError(f"child type must be 'f' or 'd', got {type!r}")
        cls = self.file_class() if type == "f" else self.directory_class()
        target = cls(full, fs=self.fs, **kwargs)
        if mkdir:
            (target if type == "d" else target.parent).touch()
        return target

    def listdir(self, pattern: str | None = None, type: str | None = None, **kwargs: Any) -> list[str]:  # noqa: A002
        """Sorted names in this directory, filtered by shell *pattern* and *type* (``f``/``d``)."""
        return sorted(self.fs.listdir(self.path, pattern=pattern, type=type))

    def glob(self, pattern: str, **kwargs: Any) -> list[str]:
        """Paths below this directory matching *pattern*."""
        return self.fs.glob(pattern, cwd=self.path)

    def walk(self, max_depth: int = -1, **kwargs: Any):
        return self.fs.walk(self.path, max_depth=max_depth)

    def touch(self, perm: int | None = None, **kwargs: Any) -> None:
        """Create the directory (with parents)."""
        self.fs.mkdir(self.path, perm=perm, recursive=True, silent=True)

    @classmethod
    def directory_class(cls) -> type:
        return cls
