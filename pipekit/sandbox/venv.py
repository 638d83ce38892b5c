"""
:class:`VenvSandbox`: ``venv::path/to/venv`` runs a task with a virtual environment's Python
and packages (the environment after ``source path/bin/activate``, cached like a bash sandbox).

The task runs with ``path/bin/python``. pipekit (the host's copy) comes before the venv's own
packages on ``sys.path``, luigi and its dependencies after them: a venv with its own luigi uses
it, a venv without luigi still works. Options: ``[venv_sandbox]`` as for ``[bash_sandbox]``;
``python`` overrides the interpreter.
"""

from __future__ import annotations

import os
import shlex

from pipekit.errors import SandboxError
from pipekit.sandbox.bash import BashSandbox

__all__ = ["VenvSandbox"]


class VenvSandbox(BashSandbox):
    """A Python virtual environment: ``venv::path/to/venv``."""

    sandbox_type = "venv"

    @property
    def venv_dir(self) -> str:
        return os.path.abspath(os.path.expandvars(os.path.expanduser(self.name)))

    @property
    def script(self) -> str:
        return os.path.join(self.venv_dir, "bin", "activate")

    @property
    def script_args(self) -> list[str]:
        return []

    def check_available(self) -> None:
        if not os.path.isfile(self.script):
            raise SandboxError(
                f"sandbox '{self.key}': {self.venv_dir} is not a virtual environment (no "
                f"bin/activate); create it with: python3 -m venv {self.venv_dir}"
            )

    def python(self, env: dict[str, str]) -> list[str]:
        configured = self.config("python")
        return (
            shlex.split(configured)
            if configured
            else [os.path.join(self.venv_dir, "bin", "python")]
        )
