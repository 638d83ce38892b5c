"""
Fingerprints: of a task's code, and of files (inputs and outputs).

**Code.** The fingerprint of a task class is a short hash per class of its hierarchy that
belongs to the analysis (every class in the MRO except those of pipekit, luigi and law). A
class is hashed from its source after normalising it with :mod:`ast`: comments, blank lines,
formatting and docstrings do not count; parameter definitions (``window =
luigi.Parameter(...)``) and a ``version`` class attribute do not count either, because they are
compared on their own (a changed default reads "parameter default changed", not "code
changed"). Functions outside the class body are not part of it: bump ``version`` when they
change. A class without source (built at run time) is hashed from its methods' byte code.

**Files.** A :class:`FileState` is what one listing or stat returns: size and modification time
(nanoseconds locally, whole seconds on remote storage), plus a checksum when asked for one.
:func:`stat_files` gets them for many files at once: one ``stat`` per local file, one listing
per remote directory.
"""

from __future__ import annotations

import ast
import hashlib
import inspect
import os
import sys
import textwrap
import zlib
from dataclasses import dataclass
from typing import Any, Iterable

from pipekit.target.local import LocalFileSystem

__all__ = [
    "FileState",
    "code_fingerprint",
    "class_version",
    "analysis_classes",
    "stat_files",
    "local_state",
    "file_checksum",
    "file_key",
]

#: modules whose classes are the framework, not the analysis
_FRAMEWORK = ("pipekit", "luigi", "law", "builtins", "abc", "typing")


@dataclass(frozen=True)
class FileState:
    """Size and modification time of a file (mtime: ns locally, s remotely; None: unknown)."""

    size: int | None
    mtime: int | None
    checksum: str | None = None

    def same_file(self, other: FileState) -> bool:
        """Whether *other* describes the same content as far as both know (size, mtime)."""
        if self.size is not None and other.size is not None and self.size != other.size:
            return False
        if self.mtime is not None and other.mtime is not None and self.mtime != other.mtime:
            return False
        return True


# -- code -----------------------------------------------------------------------------------------


def analysis_classes(cls: type) -> list[type]:
    """The classes of *cls*'s MRO that belong to the analysis (not pipekit, luigi or law)."""
    return [
        k for k in cls.__mro__
        if k is not object and (k.__module__ or "").split(".")[0] not in _FRAMEWORK
    ]


_code_cache: dict[type, dict[str, str]] = {}
_module_trees: dict[str, Any] = {}


def code_fingerprint(cls: type) -> dict[str, str]:
    """``{qualified class name: 12-hex hash}`` for the analysis classes of *cls* (cached)."""
    cached = _code_cache.get(cls)
    if cached is None:
        cached = {f"{k.__module__}.{k.__qualname__}": _class_hash(k) for k in analysis_classes(cls)}
        _code_cache[cls] = cached
    return cached


def class_version(cls: type) -> str | None:
    """A ``version`` class attribute that is not a parameter (a parameter is compared as one)."""
    import luigi

    for klass in cls.__mro__:
        if "version" in klass.__dict__:
            value = klass.__dict__["version"]
            if isinstance(value, luigi.Parameter) or callable(value) or isinstance(value, property):
                return None
            return None if value is None else str(value)
    return None


def _class_hash(cls: type) -> str:
    node = _class_node(cls)
    if node is None:
        return "b" + _bytecode_hash(cls)
    skip = _compared_separately(cls)
    node.body = [s for s in node.body if not _is_skipped(s, skip)]
    _strip_docstrings(node)
    text = ast.unparse(node)
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def _compared_separately(cls: type) -> set[str]:
    import luigi

    names = {n for n, v in vars(cls).items() if isinstance(v, luigi.Parameter)}
    if "version" in vars(cls) and not isinstance(vars(cls)["version"], luigi.Parameter):
        names.add("version")
    return names


def _is_skipped(stmt: ast.stmt, names: set[str]) -> bool:
    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
        target = stmt.targets[0]
        return isinstance(target, ast.Name) and target.id in names
    if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
        return stmt.target.id in names
    return False


def _strip_docstrings(node: ast.AST) -> None:
    for n in ast.walk(node):
        if isinstance(n, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and n.body:
            first = n.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
                    and isinstance(first.value.value, str):
                n.body = n.body[1:] or [ast.Pass()]


def _class_node(cls: type) -> ast.ClassDef | None:
    """The class statement of *cls*, from its module's source parsed once per process."""
    module = sys.modules.get(cls.__module__)
    path = getattr(module, "__file__", None)
    tree = _module_trees.get(path) if path else None
    if path and tree is None and path not in _module_trees:
        try:
            with open(path, encoding="utf-8") as f:
                tree = ast.parse(f.read())
        except (OSError, SyntaxError, ValueError):
            tree = None
        _module_trees[path] = tree
    if tree is not None:
        node = _find_class(tree, cls.__qualname__.split("."))
        if node is not None:
            return node
    try:  # notebooks and other sources inspect knows about
        source = textwrap.dedent(inspect.getsource(cls))
        found = ast.parse(source).body[0]
    except (OSError, TypeError, SyntaxError, IndexError):
        return None
    return found if isinstance(found, ast.ClassDef) else None


def _find_class(tree: ast.AST, qualname: list[str]) -> ast.ClassDef | None:
    body = getattr(tree, "body", [])
    head, rest = qualname[0], qualname[1:]
    for stmt in body:
        if isinstance(stmt, ast.ClassDef) and stmt.name == head:
            if not rest:
                # a copy: hashing removes statements, the cached tree stays whole
                return ast.parse(ast.unparse(stmt)).body[0]  # type: ignore[return-value]
            if rest[0] == "<locals>":
                return None
            return _find_class(stmt, rest)
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)) and stmt.name == head \
                and rest[:1] == ["<locals>"]:
            return _find_class(stmt, rest[1:])
    return None


def _bytecode_hash(cls: type) -> str:
    h = hashlib.sha1()

    def add_code(code: Any) -> None:
        h.update(code.co_code)
        for const in code.co_consts:
            if hasattr(const, "co_code"):
                add_code(const)
            else:
                h.update(repr(const).encode())

    for name in sorted(vars(cls)):
        value = vars(cls)[name]
        func = getattr(value, "__func__", value)
        code = getattr(func, "__code__", None)
        h.update(name.encode())
        if code is not None:
            add_code(code)
    return h.hexdigest()[:11]


# -- files ----------------------------------------------------------------------------------------


def file_key(target: Any) -> str:
    """How a file is named in records: its absolute path locally, its URI on remote storage."""
    if isinstance(target.fs, LocalFileSystem):
        return target.abspath
    return target.uri()


def local_state(path: str, checksum: bool = False) -> FileState | None:
    """The state of a local file or directory; None when it does not exist."""
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    return FileState(st.st_size, st.st_mtime_ns, file_checksum(path) if checksum else None)


def file_checksum(path: str) -> str | None:
    """adler32 of a local file as 8 hex digits (the checksum XRootD servers give); None for a
    directory."""
    if os.path.isdir(path):
        return None
    value = 1
    with open(path, "rb") as f:
        while True:
            chunk = f.read(1 << 20)
            if not chunk:
                break
            value = zlib.adler32(chunk, value)
    return f"{value & 0xFFFFFFFF:08x}"


def stat_files(targets: Iterable[Any], checksum: bool = False) -> dict[str, FileState | None]:
    """
    ``{file_key: FileState or None}`` for file-system targets: a ``stat`` per local file, a stat
    per remote file or, for many files in one remote directory, one listing of it (its sizes and
    mtimes) and, with *checksum*, the checksum of every file (read locally, asked from the
    server remotely).
    """
    out: dict[str, FileState | None] = {}
    remote: dict[tuple, list[Any]] = {}
    for t in targets:
        if isinstance(t.fs, LocalFileSystem):
            out[t.abspath] = local_state(t.abspath, checksum)
        else:
            remote.setdefault((t.fs, t.dirname), []).append(t)
    for (fs, dirname), group in remote.items():
        if len(group) <= _STAT_AT_MOST:
            # a branch's one or two files: a stat each, not a listing of a directory that may
            # hold 100 000 files
            listing = {t.basename: _remote_stat(fs, t.path) for t in group}
        else:
            listing = remote_listing(fs, dirname)
        for t in group:
            state = listing.get(t.basename)
            if state is not None and checksum:
                state = FileState(state.size, state.mtime, _remote_checksum(fs, t.path))
            out[file_key(t)] = state
    return out


#: remote files of one directory asked for with a stat each; more: one listing
_STAT_AT_MOST = 8


def _remote_stat(fs: Any, path: str) -> FileState | None:
    st = fs.file_interface.exists(path)
    return None if st is None else FileState(int(st.st_size), int(st.st_mtime) or None)


def remote_listing(fs: Any, dirname: str) -> dict[str, FileState]:
    """``{name: FileState}`` of a remote directory from one listing ({} when it is missing)."""
    from pipekit.errors import TargetMissingError

    try:
        entries = fs.file_interface.listdir(dirname)
    except TargetMissingError:
        return {}
    return {
        e.name: FileState(e.size, None if getattr(e, "mtime", None) is None else int(e.mtime))
        for e in entries
    }


def _remote_checksum(fs: Any, path: str) -> str | None:
    try:
        return fs.file_interface.checksum(path)
    except Exception:  # a server without checksums: size and mtime decide
        return None
