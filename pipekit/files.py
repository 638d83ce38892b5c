"""
law.util's helpers for local files: temporary files (:func:`tmp_file`), directories with given
permissions (:func:`makedirs`), copies without permission bits (:func:`copy_no_perm`), numbered
paths (:func:`increment_path`), ownership checks, and loading a Python file's names
(:func:`import_file`).
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import tempfile
from typing import Any, Iterator

__all__ = [
    "tmp_file", "copy_no_perm", "makedirs", "user_owns_file", "increment_path",
    "is_file_exists_error", "open_compat", "import_file",
]


@contextlib.contextmanager
def tmp_file(*args: Any, **kwargs: Any) -> Iterator[tuple[int, str]]:
    """
    An empty temporary file (``tempfile.mkstemp(*args, **kwargs)``) for the block: yields
    ``(fd, path)``; the file is removed afterwards.
    """
    fd, path = tempfile.mkstemp(*args, **kwargs)
    os.close(fd)
    try:
        yield fd, path
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)


def is_file_exists_error(e: BaseException) -> bool:
    """True when *e* says a file or directory exists already."""
    return isinstance(e, FileExistsError) or getattr(e, "errno", None) == errno.EEXIST


def makedirs(path: Any, perm: int | None = None) -> None:
    """
    Create *path* and its parents; an existing directory is fine (also when another process
    creates it at the same time). New directories get *perm* exactly (the umask is not applied).
    """
    path = str(path)
    if os.path.isdir(path):
        return
    if perm is None:
        os.makedirs(path, exist_ok=True)
        return
    umask = os.umask(0)
    try:
        os.makedirs(path, perm, exist_ok=True)
    finally:
        os.umask(umask)


def copy_no_perm(src: Any, dst: Any) -> None:
    """Copy file *src* to *dst* with its times but not its permission bits."""
    shutil.copyfile(str(src), str(dst))
    st = os.stat(str(src))
    os.utime(str(dst), ns=(st.st_atime_ns, st.st_mtime_ns))


def user_owns_file(path: Any, uid: int | None = None) -> bool:
    """True when *path* belongs to *uid* (default: this process's user)."""
    return os.stat(str(path)).st_uid == (os.getuid() if uid is None else uid)


def increment_path(path: Any, n: int | None = None) -> str:
    """
    *path* with a counter after its basename: ``out.txt`` -> ``out_1.txt``; an existing counter
    (``out_3.txt``) is increased. With *n*, the counter grows by *n*; without, the first path
    that does not exist is returned (*path* itself when it does not exist).
    """
    path = os.path.abspath(os.path.expandvars(os.path.expanduser(str(path))))
    dirname, basename = os.path.split(path)
    stem, ext = os.path.splitext(basename)
    counter = 0
    m = re.match(r"^([^.]+)_(\d+)$", stem)
    if m:
        stem, counter = m.group(1), int(m.group(2))

    def numbered(i: int) -> str:
        return os.path.join(dirname, f"{stem}_{counter + i}{ext}")

    if n is not None:
        return numbered(n)
    candidate, i = path, 0
    while os.path.exists(candidate):
        i += 1
        candidate = numbered(i)
    return candidate


#: law's Python 2 polyfill; Python 3's ``open`` does everything it did
open_compat = open


def import_file(path: Any, attr: str | None = None) -> Any:
    """
    Run the Python file at *path* and return its names as a :class:`pipekit.dicts.DotDict`, or
    only the name *attr*. The file need not be importable as a module.
    """
    from pipekit.dicts import DotDict

    path = os.path.expandvars(os.path.expanduser(str(path)))
    names = DotDict()
    with open(path) as f:
        code = compile(f.read(), path, "exec")
    exec(code, names)  # noqa: S102 - running the user's own file is the purpose
    if attr is None:
        return names
    if attr not in names:
        raise AttributeError(f"{path} defines no name '{attr}'")
    return names[attr]
