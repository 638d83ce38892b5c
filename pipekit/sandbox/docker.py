"""
:class:`DockerSandbox`: ``docker::IMAGE`` runs a task in a Docker container.

The container runs as the calling user (``uid:gid``, or ``uid`` / ``gid`` from the config), with
networking off (``network = none``) unless configured, mounts and variables as described in
:mod:`pipekit.sandbox.container`, and is removed afterwards. Inputs are staged in and outputs
staged out (task hooks ``sandbox_stagein`` / ``sandbox_stageout``).

The engine is the Python ``docker`` SDK (``pip install 'pipekit[docker]'``) or, without it, the
``docker`` command line; ``[docker_sandbox] engine = sdk|cli|auto`` chooses. Further options of
``[docker_sandbox]`` (or ``[docker_sandbox_IMAGE]``): ``network``, ``memory`` (e.g. ``2g``),
``cpus`` (e.g. ``1.5``), ``uid``, ``gid``, ``pull`` (pull a missing image first, default false)
and those of every container sandbox.
"""

from __future__ import annotations

import collections
import os
import sys
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from pipekit.errors import CommandError, MissingExtraError, SandboxError
from pipekit.sandbox.container import ContainerSandbox, Mount

__all__ = ["DockerSandbox", "ContainerSpec", "DockerSDKEngine", "DockerCLIEngine"]

# docker SDK clients by (process id, DOCKER_HOST)
_sdk_clients: dict[tuple[int, str], Any] = {}

_DAEMON_HINT = "start it (e.g. 'dockerd', 'systemctl start docker' or tests/infra/docker.sh start)"


@dataclass
class ContainerSpec:
    """Everything needed to start one container."""

    image: str
    command: list[str]
    env: dict[str, str]
    mounts: list[Mount]
    workdir: str
    user: str
    network: str = "none"
    memory: str | None = None
    cpus: float | None = None
    name: str = field(default_factory=lambda: f"pipekit-{uuid.uuid4().hex[:12]}")


class _Tail:
    """Forwards output to stdout line by line and keeps the last lines."""

    def __init__(self, n: int):
        self.lines: collections.deque = collections.deque(maxlen=n)
        self.partial = ""

    def feed(self, data: bytes | str) -> None:
        text = data.decode(errors="replace") if isinstance(data, bytes) else data
        sys.stdout.write(text)
        sys.stdout.flush()
        *full, self.partial = (self.partial + text).split("\n")
        self.lines.extend(full)

    def result(self) -> list[str]:
        return list(self.lines) + ([self.partial] if self.partial else [])


class DockerSDKEngine:
    """Runs containers through the ``docker`` Python SDK."""

    def __init__(self, key: str):
        import docker

        self.key = key
        self.errors = docker.errors
        self.types = docker.types
        # one client per process and daemon: a workflow's branches share it (a client must not
        # cross a fork, hence the pid)
        cache_key = (os.getpid(), os.environ.get("DOCKER_HOST", ""))
        self.client = _sdk_clients.get(cache_key)
        if self.client is not None:
            return
        try:
            self.client = docker.from_env()
            self.client.ping()
            _sdk_clients[cache_key] = self.client
        except docker.errors.DockerException as e:
            host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
            raise SandboxError(
                f"sandbox '{key}': cannot reach the Docker daemon at {host} ({e}); {_DAEMON_HINT}"
            ) from None

    def has_image(self, image: str) -> bool:
        try:
            self.client.images.get(image)
            return True
        except self.errors.ImageNotFound:
            return False

    def pull(self, image: str) -> None:
        self.client.images.pull(image)

    def run(self, spec: ContainerSpec, tail: int, timeout: float | None) -> tuple[int, list[str]]:
        mounts = [
            self.types.Mount(m.target, m.source, type="bind", read_only=m.read_only)
            for m in spec.mounts
        ]
        kwargs: dict[str, Any] = {}
        if spec.memory:
            kwargs["mem_limit"] = spec.memory
        if spec.cpus:
            kwargs["nano_cpus"] = int(spec.cpus * 1e9)
        try:
            container = self.client.containers.create(
                spec.image,
                command=spec.command,
                environment=spec.env,
                mounts=mounts,
                working_dir=spec.workdir,
                user=spec.user,
                network_mode=spec.network,
                name=spec.name,
                detach=True,
                **kwargs,
            )
        except self.errors.APIError as e:
            raise SandboxError(
                f"sandbox '{self.key}': cannot create the container: {e.explanation or e}"
            ) from None
        out = _Tail(tail)
        killed = threading.Event()

        def kill() -> None:
            killed.set()
            container.kill()

        timer = threading.Timer(timeout, kill) if timeout else None
        try:
            try:
                container.start()
            except self.errors.APIError as e:
                # e.g. the command does not exist in the image: the OCI runtime refuses to start
                out.feed(f"{e.explanation or e}\n")
                return 127 if "not found" in str(e) else 126, out.result()
            if timer:
                timer.daemon = True
                timer.start()
            for chunk in container.logs(stream=True, follow=True):
                out.feed(chunk)
            code = int(container.wait().get("StatusCode", 1))
            if killed.is_set():
                raise SandboxError(
                    f"sandbox '{self.key}': the container was killed after {timeout:g} s"
                )
            return code, out.result()
        finally:
            if timer:
                timer.cancel()
            try:
                container.remove(force=True)
            except self.errors.DockerException:
                pass


class DockerCLIEngine:
    """Runs containers with the ``docker`` command line (values of variables never on it)."""

    def __init__(self, key: str, executable: str = "docker"):
        self.key = key
        self.executable = executable

    def _inspect(self, image: str) -> bool:
        from pipekit.shell import run_command

        proc = run_command(
            [self.executable, "image", "inspect", "--format", "{{.Id}}", image],
            check=False,
            timeout=60,
        )
        if proc.returncode == 0:
            return True
        if "No such image" in proc.stderr or "No such object" in proc.stderr:
            return False
        raise SandboxError(
            f"sandbox '{self.key}': the Docker daemon does not answer "
            f"({proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else 'no output'}); {_DAEMON_HINT}"
        )

    def has_image(self, image: str) -> bool:
        return self._inspect(image)

    def pull(self, image: str) -> None:
        from pipekit.shell import run_command

        run_command([self.executable, "pull", image], timeout=3600)

    @staticmethod
    def _mount_arg(m: Mount) -> str:
        def field_(k: str, v: str) -> str:
            item = f"{k}={v}"
            return '"' + item.replace('"', '""') + '"' if ("," in item or '"' in item) else item

        parts = ["type=bind", field_("source", m.source), field_("target", m.target)]
        return ",".join(parts + (["readonly"] if m.read_only else []))

    def command_line(self, spec: ContainerSpec) -> list[str]:
        argv = [
            self.executable,
            "run",
            "--rm",
            "--name",
            spec.name,
            "--network",
            spec.network,
            "--user",
            spec.user,
            "--workdir",
            spec.workdir,
        ]
        for name in spec.env:
            argv += ["--env", name]  # the value comes from our environment, not the command line
        for m in spec.mounts:
            argv += ["--mount", self._mount_arg(m)]
        if spec.memory:
            argv += ["--memory", spec.memory]
        if spec.cpus:
            argv += ["--cpus", str(spec.cpus)]
        return [*argv, spec.image, *spec.command]

    def run(self, spec: ContainerSpec, tail: int, timeout: float | None) -> tuple[int, list[str]]:
        from pipekit.shell import run_command, stream_command

        env = dict(os.environ)
        env.update(spec.env)
        finished = False
        try:
            result = stream_command(self.command_line(spec), env=env, timeout=timeout, tail=tail)
            finished = True
            return result
        except CommandError as e:
            raise SandboxError(f"sandbox '{self.key}': {e}") from None
        finally:
            if not finished:  # timeout or interrupt: do not leave the container behind
                run_command([self.executable, "rm", "-f", spec.name], check=False, timeout=60)


class DockerSandbox(ContainerSandbox):
    """A Docker image: ``docker::IMAGE[:TAG]``."""

    sandbox_type = "docker"

    def engine(self) -> DockerSDKEngine | DockerCLIEngine:
        """The configured engine; missing ones are clear errors."""
        cached = self.__dict__.get("_engine")
        if cached is not None:
            return cached
        from pipekit.shell import which

        choice = str(self.config("engine", "auto")).lower()
        if choice not in ("auto", "sdk", "cli"):
            raise SandboxError(
                f"[{self.get_config_section()}] engine must be auto, sdk or cli, not '{choice}'"
            )
        engine: DockerSDKEngine | DockerCLIEngine | None = None
        if choice in ("auto", "sdk"):
            try:
                import docker  # noqa: F401
            except ImportError:
                if choice == "sdk":
                    raise MissingExtraError("docker", "docker", "the Docker sandbox") from None
            else:
                engine = DockerSDKEngine(self.key)
        if engine is None:
            exe = self.config("executable", "docker")
            if which(exe) is None:
                sdk = (
                    ""
                    if choice == "cli"
                    else "neither the Python SDK (pip install 'pipekit[docker]') nor "
                )
                raise SandboxError(
                    f"sandbox '{self.key}' needs Docker, but {sdk}the '{exe}' command is not "
                    f"available; install one, or set [{self.get_config_section()}] executable"
                )
            engine = DockerCLIEngine(self.key, exe)
        self.__dict__["_engine"] = engine
        return engine

    def check_available(self) -> None:
        engine = self.engine()
        if engine.has_image(self.image):
            return
        if self.config("pull", False, "bool"):
            engine.pull(self.image)
            return
        raise SandboxError(
            f"sandbox '{self.key}': the image '{self.image}' is not in the local Docker engine; "
            f"pull or build it first (docker pull {self.image}), or set "
            f"[{self.get_config_section()}] pull = true"
        )

    def runs_as_other_user(self) -> bool:
        return self.task.sandbox_user()[0] != os.getuid()

    def container_spec(self, stage: Any) -> ContainerSpec:
        uid, gid = self.task.sandbox_user()
        return ContainerSpec(
            image=self.image,
            command=self.container_command(stage),
            env=self.container_env(stage),
            mounts=self.mounts(stage),
            workdir=self.workdir(),
            user=f"{uid}:{gid}",
            network=self.config("network", "none"),
            memory=self.config("memory"),
            cpus=self.config("cpus", None, "float"),
        )

    def run_task(self, stage: Any) -> tuple[int, list[str]]:
        spec = self.container_spec(stage)
        return self.engine().run(spec, self.tail_lines, self.config("timeout", None, "float"))

    def failure_hint(self, code: int) -> str:
        if code == 125:
            return "docker could not start the container (see the lines above)"
        return super().failure_hint(code)
