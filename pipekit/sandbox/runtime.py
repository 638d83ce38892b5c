"""
What a sandbox needs to run ``pipekit run`` of a task: the host's pipekit and luigi (with the
pure-Python packages luigi needs), the task's own code, and a small bootstrap that puts them on
``sys.path`` of whatever Python the sandbox has.

pipekit goes *before* the sandbox's own packages (the outer and inner process must speak the
same version); luigi and its dependencies go *after* them, so an environment that brings its own
luigi uses it and one without luigi (a plain container image) still works. Nothing else of the
host's ``site-packages`` leaks into the sandbox. Local sandboxes see these packages through a
directory of symbolic links (created once, under ``$LAW_HOME/sandbox/python``); container
sandboxes mount each package read-only.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import os
import site
import sys
import uuid
from dataclasses import dataclass
from typing import Any

from pipekit.distributions import dependency_modules
from pipekit.errors import SandboxError

__all__ = [
    "BOOTSTRAP",
    "CodeLocation",
    "bootstrap_command",
    "code_location",
    "forwarded_packages",
    "link_dir",
    "host_python_version",
    "local_sys_paths",
]

# Runs as ``python -c BOOTSTRAP PREPEND APPEND HOSTVERSION run TASK ...``. Written for any
# Python 3 so that a too-old interpreter in an image gets a readable message, not a SyntaxError.
BOOTSTRAP = """\
import sys
pre, post, host = sys.argv[1:4]
del sys.argv[1:4]
here = '%d.%d' % sys.version_info[:2]
if sys.version_info < (3, 9):
    sys.stderr.write('pipekit sandbox: %s is Python %s; pipekit needs Python >= 3.9\\n' % (sys.executable, here))
    sys.exit(70)
sys.path[:0] = [p for p in pre.split(':') if p]
sys.path.extend(p for p in post.split(':') if p)
try:
    import luigi
    from pipekit.cli.main import main
except Exception as e:
    hint = ''
    if here != host:
        hint = ('; the packages pipekit forwards are those of Python %s on the host: install luigi '
                'for Python %s in the sandbox, or use Python %s there' % (host, here, host))
    sys.stderr.write('pipekit sandbox: cannot import pipekit and luigi with %s (Python %s): %s: %s%s\\n'
                     % (sys.executable, here, type(e).__name__, e, hint))
    sys.exit(70)
sys.exit(main())
"""

#: exit code of the bootstrap when pipekit cannot run in the sandbox at all
BOOTSTRAP_FAILED = 70

#: distributions whose requirements are followed to find what luigi needs
_ROOT_DISTRIBUTIONS = ("luigi",)

_forwarded_cache: tuple[list[str], list[str]] | None = None


def host_python_version() -> str:
    return "{}.{}".format(*sys.version_info[:2])


def bootstrap_command(
    python: list[str], prepend: list[str], append: list[str], args: list[str]
) -> list[str]:
    """``python -c BOOTSTRAP ... run TASK ARGS`` as an argument list (no shell involved)."""
    return [
        *python,
        "-c",
        BOOTSTRAP,
        ":".join(prepend),
        ":".join(append),
        host_python_version(),
        *args,
    ]


# -- which packages to forward --------------------------------------------------------------------


def _module_path(name: str) -> str | None:
    """Directory of package *name* or file of module *name*, or None (namespace / missing)."""
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    if spec.submodule_search_locations:
        locations = list(spec.submodule_search_locations)
        return locations[0] if len(locations) == 1 and spec.origin else None
    if spec.origin and os.path.isfile(spec.origin):
        return spec.origin
    return None


def forwarded_packages() -> tuple[list[str], list[str]]:
    """
    Paths of what the sandbox gets from the host: ``(first, last)`` where *first* is pipekit's
    package directory and *last* the top-level packages of luigi and everything it requires.
    """
    global _forwarded_cache
    if _forwarded_cache is not None:
        return _forwarded_cache
    import pipekit

    first = [os.path.dirname(os.path.abspath(pipekit.__file__))]
    last: list[str] = []
    for _, top in dependency_modules(_ROOT_DISTRIBUTIONS):
        path = _module_path(top)
        if path and path not in last:
            last.append(path)
    _forwarded_cache = (first, last)
    return _forwarded_cache


def link_dir(paths: list[str], label: str) -> str:
    """
    A directory holding one symbolic link per path in *paths* (named by its basename), created
    once and reused; put it on ``sys.path`` to make exactly those packages importable.
    """
    from pipekit.config import law_home_path

    digest = hashlib.sha1("\0".join(paths).encode()).hexdigest()[:12]
    target = law_home_path("sandbox", "python", f"{label}-{digest}")
    if os.path.isdir(target):
        return target
    os.makedirs(os.path.dirname(target), exist_ok=True)
    tmp = f"{target}.tmp-{uuid.uuid4().hex[:8]}"
    os.mkdir(tmp)
    for path in paths:
        os.symlink(path, os.path.join(tmp, os.path.basename(path)))
    try:
        os.rename(tmp, target)
    except OSError:  # another process made it first
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    return target


# -- the task's code ------------------------------------------------------------------------------


@dataclass
class CodeLocation:
    """Where the module of a task class comes from."""

    #: the module name (``analysis.tasks``)
    module: str
    #: the directory that must be on sys.path to import it
    root: str
    #: the top-level package directory, or the file of a top-level module
    entry: str
    #: whether *root* is one of this Python's site-packages directories
    in_site_packages: bool


def _site_dirs() -> set[str]:
    dirs = set(site.getsitepackages()) if hasattr(site, "getsitepackages") else set()
    user = getattr(site, "getusersitepackages", lambda: None)()
    if user:
        dirs.add(user)
    return {os.path.realpath(d) for d in dirs}


def code_location(task_cls: Any) -> CodeLocation:
    """The :class:`CodeLocation` of *task_cls*; a class defined in ``__main__`` cannot be used."""
    module = task_cls.__module__
    if module == "__main__":
        raise SandboxError(
            f"task {task_cls.__name__} is defined in the script being executed (__main__); a "
            "sandbox imports the task again by module name: move it into a module and run it "
            f"with 'pipekit run MODULE.{task_cls.__name__}'"
        )
    top_name = module.split(".")[0]
    top = sys.modules.get(top_name)
    if top is None or not getattr(top, "__file__", None) and not getattr(top, "__path__", None):
        raise SandboxError(f"cannot find where module '{module}' of task {task_cls.__name__} lives")
    if getattr(top, "__path__", None):
        entry = os.path.abspath(list(top.__path__)[0])
        root = os.path.dirname(entry)
    else:
        entry = os.path.abspath(top.__file__)
        root = os.path.dirname(entry)
    if root == os.path.sep:
        raise SandboxError(f"module '{module}' lives directly in '/'; move it into a directory")
    return CodeLocation(module, root, entry, os.path.realpath(root) in _site_dirs())


def local_sys_paths(task_cls: Any, forward: bool) -> tuple[list[str], list[str]]:
    """
    ``(prepend, append)`` for the bootstrap of a sandbox on this machine: the task's code and,
    with *forward* (another Python than this one), link directories of pipekit and luigi.
    """
    loc = code_location(task_cls)
    prepend: list[str] = []
    append: list[str] = []
    if forward:
        first, last = forwarded_packages()
        prepend.append(link_dir(first, "pipekit"))
        append.append(link_dir(last, "luigi"))
    # a task installed into site-packages brings only its own package, not its neighbours
    prepend.append(link_dir([loc.entry], "code") if loc.in_site_packages else loc.root)
    return prepend, append
