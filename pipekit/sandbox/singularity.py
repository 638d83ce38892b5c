"""
:class:`SingularitySandbox` (``singularity::IMAGE``) and :class:`ApptainerSandbox`
(``apptainer::IMAGE``): run a task with ``singularity exec`` / ``apptainer exec``.

IMAGE is a ``.sif`` file, a sandbox directory or a URI such as ``docker://python:3.11``. The
command line is built from the configuration (``[singularity_sandbox]`` or
``[apptainer_sandbox]``): ``cleanenv`` (``--cleanenv``, default true: only pipekit's and the
configured variables reach the task), ``contain`` (``--contain``, default false), ``no_home``
(``--no-home``), ``args`` (further options, e.g. ``--nv``), ``executable`` (default
``singularity`` / ``apptainer``). Host paths are bound with ``--bind SRC:DST:ro|rw`` as for every
container sandbox; variables travel as ``SINGULARITYENV_*`` / ``APPTAINERENV_*``, never on the
command line. The task runs as the calling user, with the host's network.
"""

from __future__ import annotations

import os
import shlex
from typing import Any

from pipekit.errors import SandboxError
from pipekit.sandbox.container import ContainerSandbox

__all__ = ["SingularitySandbox", "ApptainerSandbox"]

# singularity refuses to take these from *ENV_ variables; it sets them itself
_ENGINE_OWN = {"HOME", "PATH", "LD_LIBRARY_PATH"}


class SingularitySandbox(ContainerSandbox):
    """A Singularity image: ``singularity::path/to/image.sif`` or ``singularity::docker://...``."""

    sandbox_type = "singularity"
    #: prefix of variables the engine passes into the container
    env_prefix = "SINGULARITYENV_"

    def executable(self) -> str:
        return self.config("executable", self.sandbox_type)

    def _image_is_path(self) -> bool:
        return "://" not in self.image

    @property
    def image_path(self) -> str:
        return (
            os.path.abspath(os.path.expanduser(self.image)) if self._image_is_path() else self.image
        )

    def check_available(self) -> None:
        from pipekit.shell import which

        exe = self.executable()
        if which(exe) is None:
            raise SandboxError(
                f"sandbox '{self.key}' needs '{exe}', which is not on PATH; install "
                f"Singularity/Apptainer or set [{self.get_config_section()}] executable"
            )
        if self._image_is_path() and not os.path.exists(self.image_path):
            raise SandboxError(
                f"sandbox '{self.key}': the image {self.image_path} does not exist; build or "
                f"pull it first ({exe} pull ...)"
            )

    def command_line(self, stage: Any) -> tuple[list[str], dict[str, str]]:
        """``(argv, environment)`` of the ``exec`` that runs the task."""
        argv = [self.executable(), "exec"]
        if self.config("cleanenv", True, "bool"):
            argv.append("--cleanenv")
        if self.config("contain", False, "bool"):
            argv.append("--contain")
        if self.config("no_home", False, "bool"):
            argv.append("--no-home")
        for m in self.mounts(stage):
            argv += ["--bind", f"{m.source}:{m.target}:{'ro' if m.read_only else 'rw'}"]
        argv += ["--pwd", self.workdir()]
        argv += shlex.split(self.config("args", "") or "")
        argv += [self.image_path, *self.container_command(stage)]
        env = dict(os.environ)
        for name, value in self.container_env(stage).items():
            if name not in _ENGINE_OWN:
                env[self.env_prefix + name] = value
        return argv, env

    def run_task(self, stage: Any) -> tuple[int, list[str]]:
        argv, env = self.command_line(stage)
        return self.stream(argv, env)


class ApptainerSandbox(SingularitySandbox):
    """An Apptainer image: ``apptainer::path/to/image.sif`` (options in ``[apptainer_sandbox]``)."""

    sandbox_type = "apptainer"
    env_prefix = "APPTAINERENV_"
