"""
How the outer and the inner process of a sandboxed run talk to each other.

The outer process starts ``pipekit run module.Class --param value ...`` (:func:`inner_args`)
inside the sandbox, with environment variables named as in law: ``LAW_SANDBOX`` (the sandbox
key), ``LAW_SANDBOX_SWITCHED=1`` (:func:`inside_sandbox`), ``LAW_SANDBOX_TASK_ID``, for staging
sandboxes ``LAW_SANDBOX_STAGEIN_DIR`` / ``LAW_SANDBOX_STAGEOUT_DIR`` and
``PIPEKIT_SANDBOX_MANIFEST`` (:func:`manifest_for`), and ``LAW__luigi_Family__param`` for
parameters of other tasks given on the command line (:func:`other_family_values`). Commands
that must run before the task go through :func:`shell_wrap`, which never lets a shell parse an
argument.
"""

from __future__ import annotations

import os
from typing import Any

from luigi.parameter import ParameterVisibility

from pipekit.sandbox.runtime import code_location
from pipekit.sandbox.staging import read_manifest

__all__ = [
    "inside_sandbox",
    "current_sandbox",
    "inner_args",
    "other_family_values",
    "manifest_for",
    "shell_wrap",
]

# manifests read in this (inner) process, by path
_manifests: dict[str, dict[str, Any]] = {}


def inside_sandbox() -> bool:
    """Whether this process is the sandboxed side of a sandboxed run."""
    return os.environ.get("LAW_SANDBOX_SWITCHED") == "1"


def current_sandbox() -> str:
    """The key of the sandbox this process runs in ("" outside of sandboxes)."""
    return os.environ.get("LAW_SANDBOX", "").split(",")[0]


def inner_args(task: Any) -> list[str]:
    """``run module.Class --param value ... --local-scheduler`` for *task*, as an argument list."""
    cls = type(task)
    loc = code_location(cls)
    exclude = set(task.exclude_params_sandbox)
    exclude |= {n for n, p in task.get_params() if p.visibility == ParameterVisibility.PRIVATE}
    return [
        "run",
        f"{loc.module}.{cls.__name__}",
        *(part for pair in task.cli_args(exclude=exclude).items() for part in pair),
        "--local-scheduler",
    ]


def other_family_values(own: str) -> dict[str, str]:
    """
    ``--Upstream-n 3`` given on the command line, as ``LAW__luigi_Upstream__n=3``: the inner
    process hands that to luigi as ``[Upstream] n``, so ``input()`` inside finds the same
    upstream outputs. (Families with dots or double underscores cannot be written so.)
    """
    import luigi.task_register

    from pipekit.task.base import cli_values_for

    env = {}
    for family in luigi.task_register.Register._get_reg():
        if family == own or "__" in family or not family.replace("_", "").isalnum():
            continue
        for name, raw in cli_values_for(family).items():
            env[f"LAW__luigi_{family}__{name}"] = raw
    return env


def manifest_for(task: Any) -> dict[str, Any] | None:
    """The stage manifest when *task* is the task being run inside a staging sandbox."""
    path = os.environ.get("PIPEKIT_SANDBOX_MANIFEST")
    if not path or not inside_sandbox():
        return None
    manifest = _manifests.get(path)
    if manifest is None:
        manifest = _manifests[path] = read_manifest(path)
    return manifest if manifest.get("task_id") == task.task_id else None


def shell_wrap(argv: list[str], cmds: list[str], shell: str = "/bin/sh") -> list[str]:
    """
    *argv*, preceded by shell commands *cmds* when there are any: ``shell -c 'CMDS; exec "$@"'``
    with *argv* passed as arguments, so no element of *argv* is ever parsed by the shell.
    """
    cmds = [str(c) for c in cmds if str(c).strip()]
    if not cmds:
        return list(argv)
    script = "set -e\n" + "\n".join(cmds) + '\nexec "$@"'
    return [shell, "-c", script, "pipekit-sandbox", *argv]
