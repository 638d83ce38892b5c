"""
:class:`BashSandbox`: ``bash::script.sh [ARGS]`` runs a task in the environment a bash script
sets up (``source script.sh ARGS``), e.g. an experiment's software setup.

Sourcing a setup script can take seconds, so the *changes* the script makes to the environment
are cached on disk (``$LAW_HOME/sandbox/env``, or ``[bash_sandbox] env_cache_dir``) and applied to
the current environment on later runs, without starting bash at all. Unlike law, the cache is
invalidated when it no longer describes the script: its key covers the script's path and
content, its arguments, the task's pre/post setup commands and the login-shell option. Files the
script itself sources are not tracked; set ``[bash_sandbox] env_cache: false`` (or delete the
cache directory) when those change.

Options in ``[bash_sandbox]`` (or ``[bash_sandbox_NAME]``): ``login`` (``bash -l``, default
false), ``python`` (the interpreter inside; default: the ``python3`` the script put first on
PATH, else the one running pipekit), ``env_cache`` (default true), ``env_cache_dir``,
``setup_timeout`` (seconds for sourcing, default 600), ``timeout`` (for the task, default none).
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import shutil
import sys
import tempfile
import uuid
from typing import Any

from pipekit.errors import CommandError, SandboxError
from pipekit.sandbox.base import Sandbox
from pipekit.sandbox.protocol import shell_wrap
from pipekit.sandbox.runtime import local_sys_paths

__all__ = ["BashSandbox", "EnvDiff"]

# variables bash maintains itself; they say nothing about the environment a script sets up
_BASH_OWN = {"_", "SHLVL", "PWD", "OLDPWD"}

#: bump when the cached format or the way environments are made changes
_CACHE_VERSION = 2

# environment changes per cache key, for this process
_memory_cache: dict[str, EnvDiff] = {}


class EnvDiff:
    """
    What sourcing a script changed: variables set, variables removed, and variables extended
    (``PATH=/sw/bin:$PATH``) kept as ``[prefix, suffix]`` around the caller's current value, so
    a cached environment follows the PATH of whoever uses it.
    """

    def __init__(
        self,
        set_vars: dict[str, str],
        unset: list[str],
        extended: dict[str, list[str]] | None = None,
    ):
        self.set_vars = set_vars
        self.unset = unset
        self.extended = extended or {}

    @classmethod
    def between(cls, before: dict[str, str], after: dict[str, str]) -> EnvDiff:
        set_vars: dict[str, str] = {}
        extended: dict[str, list[str]] = {}
        for k, v in after.items():
            old = before.get(k)
            if k in _BASH_OWN or old == v:
                continue
            prefix, found, suffix = v.partition(old) if old else ("", "", "")
            if found and _path_joined(prefix, suffix):
                extended[k] = [prefix, suffix]
            else:
                set_vars[k] = v
        unset = sorted(k for k in before if k not in after and k not in _BASH_OWN)
        return cls(set_vars, unset, extended)

    def apply(self, env: dict[str, str]) -> dict[str, str]:
        out = {k: v for k, v in env.items() if k not in self.unset}
        for k, (prefix, suffix) in self.extended.items():
            current = out.get(k, "")
            # without a current value, drop the separator that joined the parts to it
            out[k] = (
                prefix + current + suffix if current else (prefix.rstrip(":") + suffix.lstrip(":"))
            )
        out.update(self.set_vars)
        return out

    def to_json(self) -> dict[str, Any]:
        return {"set": self.set_vars, "unset": self.unset, "extended": self.extended}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EnvDiff:
        return cls(data["set"], data["unset"], data.get("extended", {}))


def _path_joined(prefix: str, suffix: str) -> bool:
    """Whether *prefix* and *suffix* were joined to a value as ``:``-separated list entries."""
    return (prefix == "" or prefix.endswith(":")) and (suffix == "" or suffix.startswith(":"))


def _parse_env0(data: bytes) -> dict[str, str]:
    env = {}
    for item in data.decode(errors="surrogateescape").split("\0"):
        name, sep, value = item.partition("=")
        if sep and name:
            env[name] = value
    return env


class BashSandbox(Sandbox):
    """The environment after sourcing a bash script: ``bash::path/to/setup.sh [ARGS]``."""

    sandbox_type = "bash"

    # -- what is sourced ------------------------------------------------------------------------

    def _split_name(self) -> list[str]:
        try:
            parts = shlex.split(self.name)
        except ValueError as e:
            raise SandboxError(
                f"sandbox '{self.key}': cannot split '{self.name}' into script and arguments: {e}"
            ) from None
        if not parts:
            raise SandboxError(f"sandbox '{self.key}' names no script")
        return parts

    @property
    def script(self) -> str:
        """Absolute path of the script (``~`` and ``$VARS`` expanded, relative to the cwd)."""
        path = os.path.expandvars(os.path.expanduser(self._split_name()[0]))
        return os.path.abspath(path)

    @property
    def script_args(self) -> list[str]:
        return self._split_name()[1:]

    def check_available(self) -> None:
        if not os.path.isfile(self.script):
            raise SandboxError(
                f"sandbox '{self.key}': the script {self.script} does not exist (relative paths "
                "are taken from the working directory)"
            )
        if shutil.which("bash") is None:
            raise SandboxError(f"sandbox '{self.key}' needs bash, which is not on PATH")

    # -- the environment ------------------------------------------------------------------------

    def _setup_script(self) -> str:
        def block(cmd: str) -> str:
            return "{ " + cmd + "\n}"

        steps = [block(c) for c in self.hook_cmds("pre_setup")]
        steps.append('source "$__pk_script" "$@"')
        steps += [block(c) for c in self.hook_cmds("post_setup")]
        steps.append('env -0 > "$__pk_out"')
        return '__pk_out="$1"; __pk_script="$2"; shift 2\n' + " &&\n".join(steps)

    def cache_key(self) -> str:
        """Changes when the script, its arguments or the setup commands change."""
        try:
            with open(self.script, "rb") as f:
                content = hashlib.sha256(f.read()).hexdigest()
        except OSError as e:
            raise SandboxError(f"sandbox '{self.key}': cannot read {self.script}: {e}") from None
        parts = {
            "v": _CACHE_VERSION,
            "type": self.sandbox_type,
            "script": self.script,
            "content": content,
            "args": self.script_args,
            "setup": self._setup_script(),
            "login": bool(self.config("login", False, "bool")),
        }
        return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:24]

    def _cache_path(self, key: str) -> str:
        from pipekit.config import law_home_path

        base = self.config("env_cache_dir") or law_home_path("sandbox", "env")
        return os.path.join(base, f"{self.sandbox_type}-{key}.json")

    def _source(self) -> EnvDiff:
        """Source the script in bash now and return what it changed."""
        from pipekit.shell import run_command

        self.check_available()
        before = dict(os.environ)
        bash = ["bash", "-l"] if self.config("login", False, "bool") else ["bash"]
        fd, out = tempfile.mkstemp(prefix="pipekit_env_")
        os.close(fd)
        try:
            run_command(
                [
                    *bash,
                    "-c",
                    self._setup_script(),
                    "pipekit-sandbox",
                    out,
                    self.script,
                    *self.script_args,
                ],
                env=before,
                merge_env=False,
                timeout=self.config("setup_timeout", 600.0, "float"),
            )
            with open(out, "rb") as f:
                after = _parse_env0(f.read())
        except CommandError as e:
            raise SandboxError(f"setting up sandbox '{self.key}' failed: {e}") from None
        finally:
            os.unlink(out)
        if not after:
            raise SandboxError(f"setting up sandbox '{self.key}' produced no environment")
        return EnvDiff.between(before, after)

    def env_diff(self) -> EnvDiff:
        """The script's changes: from memory, the disk cache, or by sourcing it now."""
        use_cache = self.config("env_cache", True, "bool")
        key = self.cache_key()
        if use_cache and key in _memory_cache:
            return _memory_cache[key]
        path = self._cache_path(key)
        diff = None
        if use_cache and os.path.isfile(path):
            try:
                with open(path) as f:
                    data = json.load(f)
                diff = EnvDiff.from_json(data)
            except (OSError, ValueError, KeyError):
                diff = None  # a damaged cache file is made again
        if diff is None:
            diff = self._source()
            if use_cache:
                _write_json(path, diff.to_json())
        _memory_cache[key] = diff
        return diff

    @property
    def env(self) -> dict[str, str]:
        """The full environment inside the sandbox (without pipekit's own variables)."""
        return self.env_diff().apply(dict(os.environ))

    # -- running --------------------------------------------------------------------------------

    def python(self, env: dict[str, str]) -> list[str]:
        """The interpreter that runs pipekit inside (see the module docstring)."""
        configured = self.config("python")
        if configured:
            return shlex.split(configured)
        inner = shutil.which("python3", path=env.get("PATH", ""))
        outer = shutil.which("python3", path=os.environ.get("PATH", ""))
        if inner and inner != outer:
            return [inner]
        return [sys.executable]

    def run_task(self, stage: Any) -> tuple[int, list[str]]:
        self.check_available()
        env = self.env
        env.update(self.task_env(stage))
        python = self.python(env)
        prepend, append = local_sys_paths(type(self.task), forward=python != [sys.executable])
        argv = self.pipekit_command(python, prepend, append)
        argv = shell_wrap(argv, self.hook_cmds("setup"), shell="bash")
        return self.stream(argv, env, cwd=os.getcwd())


def _write_json(path: str, data: Any) -> None:
    """Write *data* to *path* atomically (concurrent writers leave one complete file)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = f"{path}.tmp-{uuid.uuid4().hex[:8]}"
    with open(tmp, "w") as f:
        json.dump(data, f)
    os.replace(tmp, path)
