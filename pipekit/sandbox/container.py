"""
What container sandboxes (Docker, Singularity/Apptainer) have in common: which host paths are
mounted, which variables are set and which command runs inside.

Only what the task needs is mounted: pipekit and luigi with luigi's pure-Python dependencies
(read-only, below ``/pipekit/python``), the task's code (read-only, at its host path), the
law.cfg in use (read-only), the stage area of the run (inputs read-only, outputs writable), and
the volumes configured in ``[TYPE_sandbox_volumes]`` or returned by ``sandbox_volumes()``
(``host path = path inside``, add ``:ro`` for read-only). Variables are set by allow-list:
pipekit's own, ``[TYPE_sandbox_env]`` and ``sandbox_env()``; nothing else of the host leaks in.
The working directory inside is the host's working directory, so relative paths mean the same.

Grid credentials come along unless ``forward_credentials = false``: the X.509 proxy
(``$X509_USER_PROXY`` or ``/tmp/x509up_u<uid>``), the CA and VOMS directories
(``$X509_CERT_DIR`` / ``$X509_VOMS_DIR``, else ``/etc/grid-security/...`` when present) and the
bearer token file are mounted read-only at their host paths, and the ``X509_*`` /
``BEARER_TOKEN*`` variables point at them (the token itself, when given as ``$BEARER_TOKEN``).

Options (``[TYPE_sandbox]``): ``python`` (default ``python3``), ``shell`` for setup commands
(default ``/bin/sh``), ``forward_pipekit`` (default true; false when the image has pipekit and
``pipekit_executable`` is set), ``stage_dir`` (where stage areas are made), ``timeout``.
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass
from typing import Any

from pipekit.errors import SandboxError
from pipekit.sandbox.base import Sandbox
from pipekit.sandbox.protocol import shell_wrap
from pipekit.sandbox.runtime import code_location, forwarded_packages

__all__ = ["ContainerSandbox", "Mount"]

#: where forwarded Python packages appear inside containers
PYTHON_DIR = "/pipekit/python"


@dataclass(frozen=True)
class Mount:
    """A host path visible inside the container."""

    source: str
    target: str
    read_only: bool = True


def parse_volume(host: str, spec: str) -> Mount:
    """``host = /inside[:ro|:rw]`` from a volumes section (or ``sandbox_volumes()``)."""
    target, mode = spec, "rw"
    head, sep, tail = spec.rpartition(":")
    if sep and tail in ("ro", "rw"):
        target, mode = head, tail
    return Mount(os.path.abspath(host), target or os.path.abspath(host), mode == "ro")


class ContainerSandbox(Sandbox):
    """Base of sandboxes that run the task in a container image (the NAME of the key)."""

    stages_targets = True
    #: shell used for setup commands inside the image
    default_shell = "/bin/sh"

    @property
    def image(self) -> str:
        return self.name

    def forward_pipekit(self) -> bool:
        if self.config("pipekit_executable") or self.config("law_executable"):
            return False
        return bool(self.config("forward_pipekit", True, "bool"))

    # -- mounts ---------------------------------------------------------------------------------

    def code_mounts(self) -> tuple[list[Mount], list[str]]:
        """Mounts of the task's code and the directories to put first on ``sys.path``."""
        loc = code_location(type(self.task))
        if loc.in_site_packages:
            # an installed analysis brings only its own package, not all of site-packages
            inside = f"{PYTHON_DIR}/code"
            return [Mount(loc.entry, f"{inside}/{os.path.basename(loc.entry)}")], [inside]
        return [Mount(loc.root, loc.root)], [loc.root]

    def python_mounts(self) -> tuple[list[Mount], list[str], list[str]]:
        """Mounts of the forwarded packages and ``(prepend, append)`` for ``sys.path``."""
        if not self.forward_pipekit():
            return [], [], []
        first, last = forwarded_packages()
        mounts = [Mount(p, f"{PYTHON_DIR}/first/{os.path.basename(p)}") for p in first]
        mounts += [Mount(p, f"{PYTHON_DIR}/last/{os.path.basename(p)}") for p in last]
        return mounts, [f"{PYTHON_DIR}/first"], [f"{PYTHON_DIR}/last"]

    def config_mounts(self) -> list[Mount]:
        from pipekit.config import Config

        return [Mount(p, p) for p in Config.instance().config_files]

    def volume_mounts(self) -> list[Mount]:
        mounts = []
        for host, spec in self.volumes().items():
            mount = parse_volume(host, spec)
            if not os.path.exists(mount.source):
                raise SandboxError(
                    f"sandbox '{self.key}': the volume {mount.source} (-> {mount.target}) does not "
                    "exist on this machine; create it or fix ["
                    + self.get_config_section("volumes")
                    + "]"
                )
            mounts.append(mount)
        return mounts

    def mounts(self, stage: Any) -> list[Mount]:
        """Everything mounted, in order; a later mount replaces an earlier one at the same target."""
        code, _ = self.code_mounts()
        python, _, _ = self.python_mounts()
        mounts = [*python, *code, *self.config_mounts()]
        if stage is not None:
            mounts += [
                Mount(stage.root, stage.root, read_only=False),
                Mount(stage.in_dir, stage.in_dir, read_only=True),
            ]
        mounts += self.credential_mounts()[0]
        mounts += self.volume_mounts()
        by_target: dict[str, Mount] = {}
        for m in mounts:
            by_target.pop(m.target, None)
            by_target[m.target] = m
        return list(by_target.values())

    # -- environment and command ----------------------------------------------------------------

    def container_env(self, stage: Any) -> dict[str, str]:
        """The complete environment inside (an allow-list; nothing else of the host)."""
        from pipekit.config import Config

        env = {"PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1", "LANG": "C.UTF-8"}
        if stage is not None:
            env["HOME"] = stage.home_dir
        config_file = Config.instance().config_file
        if config_file:
            env["LAW_CONFIG_FILE"] = config_file
        env.update(self.credential_mounts()[1])
        env.update(self.task_env(stage))
        return env

    def credential_mounts(self) -> tuple[list[Mount], dict[str, str]]:
        """The grid credentials' files (read-only) and variables (see the module docstring)."""
        if not self.config("forward_credentials", True, "bool"):
            return [], {}
        from pipekit.grid.credentials import proxy_location, token_locations

        env = {k: v for k, v in os.environ.items() if k.startswith(("X509_", "BEARER_TOKEN"))}
        files: list[str] = []
        proxy = proxy_location()[0]
        if os.path.isfile(proxy):
            files.append(proxy)
            env["X509_USER_PROXY"] = proxy
        if "BEARER_TOKEN" not in env:
            token = next((p for p, _ in token_locations() if os.path.isfile(p)), None)
            if token:
                files.append(token)
                env["BEARER_TOKEN_FILE"] = token
        if not files and "BEARER_TOKEN" not in env:
            return [], env  # no credential: the trust anchors are of no use inside
        for var, default in (("X509_CERT_DIR", "/etc/grid-security/certificates"),
                             ("X509_VOMS_DIR", "/etc/grid-security/vomsdir"),
                             ("X509_VOMSES", "/etc/vomses")):
            path = os.environ.get(var) or default
            if os.path.exists(path):
                files.append(path)
                env[var] = path
        mounts = [Mount(os.path.abspath(f), os.path.abspath(f)) for f in dict.fromkeys(files)]
        return mounts, env

    def python(self) -> list[str]:
        return shlex.split(self.config("python", "python3"))

    def container_command(self, stage: Any) -> list[str]:
        """The command run inside: setup commands (if any), then ``pipekit run`` of the task."""
        _, code_path = self.code_mounts()
        _, first, last = self.python_mounts()
        argv = self.pipekit_command(self.python(), [*first, *code_path], last)
        cmds = self.hook_cmds("pre_setup") + self.hook_cmds("post_setup") + self.hook_cmds("setup")
        return shell_wrap(argv, cmds, shell=self.config("shell", self.default_shell))

    def workdir(self) -> str:
        return os.getcwd()

    def failure_hint(self, code: int) -> str:
        if code == 127:
            return (
                f"'{self.python()[0]}' was not found in image '{self.image}'; use an image with "
                f"Python >= 3.9 or set [{self.get_config_section()}] python"
            )
        return super().failure_hint(code)
