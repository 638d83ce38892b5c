"""
Running the installed ``pipekit`` / ``law`` console scripts in a temporary analysis directory,
as a user would: a real subprocess, a clean environment (no LAW_* / PIPEKIT_* variables, an
empty $HOME and $LAW_HOME), the working directory on the module path. Used by the CLI tests.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

__all__ = ["script", "cli_env", "run_cli", "write", "TASKS"]


def script(name: str = "pipekit") -> str:
    """Path of the console script *name* installed next to this Python."""
    path = os.path.join(os.path.dirname(sys.executable), name)
    return path if os.path.exists(path) else (shutil.which(name) or name)


def cli_env(cwd: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a CLI run in *cwd*: no LAW_*/PIPEKIT_*, an empty home, cwd importable."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LAW_", "PIPEKIT_"))}
    home = cwd.parent / "home"
    home.mkdir(exist_ok=True)
    env.update(HOME=str(home), LAW_HOME=str(home / ".law"), PYTHONPATH=str(cwd))
    env.update(extra or {})
    return env


def run_cli(
    args: list[str],
    cwd: Path,
    prog: str = "pipekit",
    env: dict[str, str] | None = None,
    input: str | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess:  # noqa: A002
    """Run ``prog *args`` in *cwd*; stdin is not a terminal (empty unless *input*)."""
    return subprocess.run(
        [script(prog), *args],
        cwd=cwd,
        env=cli_env(cwd, env),
        input=input or "",
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def write(path: Path, text: str) -> Path:
    """Write dedented *text* to *path* (parents created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


#: a small analysis module used by several CLI tests (outputs below ./data of the run directory)
TASKS = '''
import luigi

import pipekit as law


class TimesTwo(law.Task):
    """Doubles n."""

    n = luigi.IntParameter(description="the number")

    def output(self):
        return law.LocalFileTarget(f"data/n{self.n}.json")

    def run(self):
        self.output().dump({"in": self.n, "out": self.n * 2})


class Upstream(law.Task):
    n = luigi.IntParameter(default=1)

    def output(self):
        return law.LocalFileTarget(f"data/up{self.n}.txt")

    def run(self):
        self.output().dump(str(self.n), formatter="text")


class Downstream(law.Task):
    n = luigi.IntParameter(default=1)

    def requires(self):
        return Upstream.req(self)

    def output(self):
        return law.LocalFileTarget(f"data/down{self.n}.txt")

    def run(self):
        self.output().dump("from " + self.input().load(formatter="text"), formatter="text")


class Broken(law.Task):
    def output(self):
        return law.LocalFileTarget("data/never.txt")

    def run(self):
        raise RuntimeError("the input file is corrupt")
'''
