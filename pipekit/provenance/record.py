"""
The provenance record of one output (:class:`Record`) and how it is made when a task or a
branch finishes (:class:`RunProbe`).

A record says what made the output: the task (family, module, class, significant parameters
and which of them were at their default, the branch), the fingerprint of its code and its
``version``, the inputs it read (key, size, mtime and, when configured, a checksum, taken just
before ``run()``), the output itself as it was when the run ended (so a later change to the file
is noticed), the git commit and dirty state of the analysis repository, the versions of Python,
pipekit and luigi and the sandbox, the host and user, start and end time, and, on a batch node,
the job. What is the same for many outputs (everything but the branch, times and files) is a
*context*, stored once per store file.
"""

from __future__ import annotations

import getpass
import os
import platform
import socket
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Iterator

from pipekit.provenance.fingerprint import (
    FileState,
    class_version,
    code_fingerprint,
    file_key,
    stat_files,
)
from pipekit.provenance.hooks import job_info
from pipekit.structure import iter_leaves
from pipekit.target.collection import TargetCollection
from pipekit.target.file import FileSystemTarget

__all__ = [
    "Record",
    "InputState",
    "RunProbe",
    "task_context",
    "output_targets",
    "input_targets",
    "git_state",
]


@dataclass(frozen=True)
class InputState:
    """One input as the task saw it: its key (absolute path or URI) and its state."""

    key: str
    state: FileState

    @property
    def name(self) -> str:
        return self.key.rstrip("/").rsplit("/", 1)[-1]


@dataclass
class Record:
    """What made one output (the public shape; see the module docstring for the fields)."""

    output: str
    family: str
    module: str
    task_class: str
    params: dict[str, str]
    defaulted: list[str]
    branch: int | None
    code: dict[str, str]
    version: str | None
    inputs: list[InputState]
    output_state: FileState
    git: dict[str, Any] | None
    software: dict[str, str]
    host: str
    user: str
    start: float
    end: float
    job: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def task_repr(self) -> str:
        """The task as ``--print-status`` shows it: ``Family(param=value, ..., branch=3)``."""
        params = dict(self.params)
        if self.branch is not None:
            params["branch"] = str(self.branch)
        return f"{self.family}({', '.join(f'{k}={v}' for k, v in params.items())})"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``pipekit provenance --json`` prints it)."""
        return {
            "output": self.output,
            "task": {"family": self.family, "module": self.module, "class": self.task_class,
                     "params": dict(self.params), "defaulted": list(self.defaulted),
                     "branch": self.branch},
            "code": dict(self.code),
            "version": self.version,
            "inputs": [{"path": i.key, "size": i.state.size, "mtime": i.state.mtime,
                        "checksum": i.state.checksum} for i in self.inputs],
            "output_state": {"size": self.output_state.size, "mtime": self.output_state.mtime,
                             "checksum": self.output_state.checksum},
            "git": self.git,
            "software": dict(self.software),
            "host": self.host,
            "user": self.user,
            "start": self.start,
            "end": self.end,
            "job": self.job,
        }


# -- the context: what many outputs share ---------------------------------------------------------

#: workflow parameters that select branches; they never change what a branch makes
_SELECTION = frozenset({"branch", "branches"})

_git_cache: dict[str, dict[str, Any] | None] = {}
_process_cache: dict[str, Any] = {}


def git_state(path: str) -> dict[str, Any] | None:
    """``{"root", "commit", "dirty", "changes"}`` of the git work tree holding *path* (None:
    not in one, or git is missing). Asked once per directory and process."""
    directory = path if os.path.isdir(path) else os.path.dirname(path)
    if directory in _git_cache:
        return _git_cache[directory]
    from pipekit.errors import CommandError
    from pipekit.shell import run_command

    state = None
    try:
        top = run_command(["git", "-C", directory, "rev-parse", "--show-toplevel", "HEAD"],
                          timeout=20, check=False)
        lines = top.stdout.split()
        if top.returncode == 0 and len(lines) == 2:
            status = run_command(["git", "-C", lines[0], "status", "--porcelain",
                                  "--untracked-files=no"], timeout=60, check=False)
            changes = [ln[3:] for ln in status.stdout.splitlines() if ln.strip()]
            state = {"root": lines[0], "commit": lines[1], "dirty": bool(changes),
                     "changes": changes[:20]}
    except CommandError:
        state = None
    _git_cache[directory] = state
    return state


def _software(task: Any) -> dict[str, str]:
    base = _process_cache.get("software")
    if base is None:
        import luigi

        from pipekit.__version__ import __version__

        base = {"python": platform.python_version(), "pipekit": __version__,
                "luigi": getattr(luigi, "__version__", "?")}
        _process_cache["software"] = base
    sandbox = getattr(task, "effective_sandbox", None) if hasattr(task, "sandbox") else None
    if sandbox and not str(sandbox).startswith("NO_"):
        return {**base, "sandbox": str(sandbox)}
    return base


def _host_user() -> tuple[str, str]:
    hu = _process_cache.get("host_user")
    if hu is None:
        try:
            user = getpass.getuser()
        except Exception:  # no passwd entry in some containers
            user = str(os.getuid())
        hu = _process_cache["host_user"] = (socket.gethostname(), user)
    return hu


def task_context(task: Any) -> dict[str, Any]:
    """The context of *task*: everything its records share (see the module docstring)."""
    cls = type(task)
    params: dict[str, str] = {}
    defaulted: list[str] = []
    for name, param in task.get_params():
        if not param.significant or name in _SELECTION:
            continue
        value = getattr(task, name)
        params[name] = param.serialize(value)
        if param._default is not _no_value() and _same(param, value, param._default):
            defaulted.append(name)
    module = cls.__module__
    path = getattr(sys.modules.get(module), "__file__", None)
    host, user = _host_user()
    return {
        "family": task.get_task_family(),
        "module": module,
        "class": cls.__qualname__,
        "params": params,
        "defaulted": defaulted,
        "code": code_fingerprint(cls),
        "version": class_version(cls),
        "git": git_state(os.path.abspath(path)) if path else None,
        "software": _software(task),
        "host": host,
        "user": user,
        "job": job_info(),
    }


def _no_value() -> Any:
    from luigi.parameter import _no_value as nv

    return nv


def _same(param: Any, value: Any, default: Any) -> bool:
    try:
        return param.serialize(value) == param.serialize(default)
    except Exception:  # a default the parameter cannot serialise
        return False


# -- targets --------------------------------------------------------------------------------------


def _leaves(struct: Any) -> Iterator[Any]:
    if isinstance(struct, FileSystemTarget):  # the common case, without the generator machinery
        yield struct
        return
    for leaf in iter_leaves(struct):
        if isinstance(leaf, TargetCollection):
            yield from (t for t in leaf.iter_targets() if isinstance(t, FileSystemTarget))
        elif isinstance(leaf, FileSystemTarget):
            yield leaf


def output_targets(task: Any) -> list[Any]:
    """The file-system targets among the outputs of *task* (collections expanded)."""
    return list(_leaves(task.output()))


def input_targets(task: Any) -> list[Any]:
    """The file-system targets among the inputs of *task* (collections expanded)."""
    return list(_leaves(task.input()))


# -- making records when a run ends ---------------------------------------------------------------


class RunProbe:
    """
    Taken just before a task (or branch) runs and finished when it ends: holds the start time
    and the state of its inputs, and gives the states of its outputs, or None when one of them
    does not exist (a failed or half-done run gets no record).
    """

    def __init__(self, task: Any, checksum: bool):
        self.task = task
        self.checksum = checksum
        #: the output targets, when the caller knows them already (else ``task.output()``)
        self.outputs: list[Any] | None = None
        self.start = time.time()
        states = stat_files(input_targets(task), checksum=checksum)
        self.inputs = [(k, s) for k, s in states.items() if s is not None]

    def finish(self) -> dict[str, Any] | None:
        """A small picklable payload: times, input states, output states in output order."""
        outputs = self.outputs if self.outputs is not None else output_targets(self.task)
        if not outputs:
            return None
        states = stat_files(outputs, checksum=self.checksum)
        out = []
        for t in outputs:
            state = states.get(file_key(t))
            if state is None:
                return None
            out.append((state.size, state.mtime) if state.checksum is None
                       else (state.size, state.mtime, state.checksum))
        return {"start": round(self.start, 3), "end": round(time.time(), 3),
                "inputs": [(k, s.size, s.mtime, s.checksum) for k, s in self.inputs],
                "outputs": out}
