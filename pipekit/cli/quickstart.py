"""
``pipekit quickstart DIR``: write a small runnable analysis to start from.

DIR receives a ``law.cfg`` (with ``[modules]``) and a package ``analysis/`` with a task, a local
workflow and a task that merges the workflow's outputs (see ``pipekit/templates/quickstart``).
Nothing is overwritten: when one of the files exists already, nothing is written at all.
"""

from __future__ import annotations

import argparse
import os
import shutil

from pipekit.errors import UsageError

__all__ = ["execute", "template_dir", "create_skeleton"]


def template_dir() -> str:
    """The directory holding the skeleton's files."""
    return os.path.join(
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "templates", "quickstart"
    )


def _template_files() -> list[str]:
    root = template_dir()
    files = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        files += [
            os.path.relpath(os.path.join(dirpath, f), root)
            for f in sorted(filenames)
            if not f.endswith(".pyc")
        ]
    return files


def create_skeleton(directory: str) -> list[str]:
    """Copy the skeleton into *directory*; returns the created paths."""
    out_dir = os.path.abspath(os.path.expanduser(directory))
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise UsageError(f"'{out_dir}' exists and is not a directory; choose another one")
    files = _template_files()
    existing = [f for f in files if os.path.lexists(os.path.join(out_dir, f))]
    if existing:
        raise UsageError(
            f"not overwriting {', '.join(existing)} in {out_dir}; "
            "choose an empty directory or move those files away"
        )
    created = []
    for rel in files:
        dst = os.path.join(out_dir, rel)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copyfile(os.path.join(template_dir(), rel), dst)
        created.append(dst)
    return created


def execute(args: list[str], prog: str = "pipekit quickstart") -> int:
    parser = argparse.ArgumentParser(
        prog=prog, description="Create a small runnable analysis (law.cfg and a task package)."
    )
    parser.add_argument("directory", help="where to create it (created when missing)")
    opts = parser.parse_args(args)
    created = create_skeleton(opts.directory)
    for path in created:
        print(f"created {path}")
    cmd = "pipekit" if "law" not in prog.split()[0] else "law"
    print(
        "\nnext steps:\n"
        f"  cd {opts.directory}\n"
        f"  {cmd} index --verbose                    # list the tasks of [modules] in law.cfg\n"
        f"  {cmd} run SumSquares --print-status 1    # nothing exists yet\n"
        f"  {cmd} run SumSquares --workers 2         # run it: 10 branches and the sum\n"
        f"  cat data/SumSquares/count10.json\n"
        f'  source "$({cmd} completion)"             # tab completion of tasks and parameters'
    )
    return 0
