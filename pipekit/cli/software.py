"""
``pipekit software``: copy pipekit, luigi and luigi's dependencies into the software directory.

Batch jobs and containers that cannot see this installation put the software directory
(``[core] software_dir``, default ``$LAW_HOME/software``) on their ``PYTHONPATH`` instead. The
packages to copy are found from the installed distributions' metadata: pipekit and luigi plus
everything they require (without optional extras), recursively. A package holding compiled
extensions is copied too but reported, because it only works on the same platform and Python.

The directory is built next to its final place and swapped in at the end, so a job starting
during a rebuild sees the old or the new copy, never half of one.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import os
import shutil
import sys

from pipekit.distributions import dependency_modules as _dependency_modules
from pipekit.errors import PipekitError

__all__ = [
    "execute",
    "software_dir",
    "dependency_modules",
    "build_software_dir",
    "ROOT_DISTRIBUTIONS",
]

#: distributions whose code jobs need; their requirements are added recursively
ROOT_DISTRIBUTIONS = ("pipekit", "luigi")


def software_dir() -> str:
    """``[core] software_dir`` (expanded), or ``$LAW_HOME/software`` when unset."""
    from pipekit.config import Config, law_home_path

    path = Config.instance().get_expanded("core", "software_dir", None)
    return os.path.abspath(path) if path else law_home_path("software")


def dependency_modules(roots: tuple[str, ...] = ROOT_DISTRIBUTIONS) -> list[tuple[str, str]]:
    """``(distribution, top-level module)`` for *roots* and their requirements, recursively."""
    return _dependency_modules(roots)


def _copy_module(module: str, dst_dir: str) -> tuple[str, int, bool]:
    """Copy *module* into *dst_dir*; returns (source path, number of files, has extensions)."""
    spec = importlib.util.find_spec(module)
    if spec is None or (spec.origin is None and not spec.submodule_search_locations):
        raise PipekitError(f"cannot find module '{module}' to copy into the software directory")
    if spec.submodule_search_locations:
        src = list(spec.submodule_search_locations)[0]
        dst = os.path.join(dst_dir, module)
        shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        files = [os.path.join(d, f) for d, _, fs in os.walk(dst) for f in fs]
    else:
        src = spec.origin
        dst = os.path.join(dst_dir, os.path.basename(src))
        shutil.copy2(src, dst)
        files = [dst]
    compiled = any(f.endswith((".so", ".pyd")) for f in files)
    return src, len(files), compiled


def build_software_dir(path: str, modules: list[str], verbose: bool = True) -> list[str]:
    """Copy *modules* into a fresh *path* (replacing it); returns notes on compiled packages."""
    parent = os.path.dirname(os.path.abspath(path)) or "."
    os.makedirs(parent, exist_ok=True)
    tmp = os.path.join(parent, f".{os.path.basename(path)}.tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    notes = []
    try:
        for module in modules:
            src, n_files, compiled = _copy_module(module, tmp)
            if verbose:
                print(f"copied {module:<18} {n_files:>4} file(s) from {src}")
            if compiled:
                notes.append(
                    f"{module} contains compiled extensions: jobs may need the same platform "
                    f"and Python {sys.version_info[0]}.{sys.version_info[1]}"
                )
        old = path + f".old{os.getpid()}"
        if os.path.exists(path):
            os.rename(path, old)
        os.rename(tmp, path)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return notes


def execute(args: list[str], prog: str = "pipekit software") -> int:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Copy pipekit, luigi and luigi's dependencies into the software directory "
        "([core] software_dir) for jobs and containers.",
    )
    parser.add_argument(
        "--modules",
        "-m",
        help="comma-separated modules to copy instead of the automatically found ones",
    )
    parser.add_argument(
        "--print-deps",
        "-p",
        action="store_true",
        help="print the modules that would be copied and exit",
    )
    parser.add_argument(
        "--location", "-l", action="store_true", help="print the software directory and exit"
    )
    parser.add_argument("--remove", "-r", action="store_true", help="remove the software directory")
    opts = parser.parse_args(args)
    path = software_dir()
    if opts.location:
        print(path)
        return 0
    if opts.remove:
        if os.path.isdir(path):
            shutil.rmtree(path)
            print(f"removed {path}")
        return 0
    if opts.modules:
        modules = [m.strip() for m in opts.modules.split(",") if m.strip()]
    else:
        modules = [mod for _, mod in dependency_modules()]
    if opts.print_deps:
        print(",".join(modules))
        return 0
    notes = build_software_dir(path, modules)
    print(f"software directory {path}: {len(modules)} module(s); use it with PYTHONPATH={path}")
    for note in notes:
        print(f"note: {note}")
    return 0
