"""
Helpers shared by the sandbox tests: an analysis directory with a task module, and ``pipekit
run`` in it as a user runs it (a real subprocess with a clean environment: no LAW_* / PIPEKIT_*
variables, an empty home).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

__all__ = ["PIPEKIT", "TRICKY_VALUE", "TASKS", "make_analysis", "run_pipekit", "write", "read_json"]

PIPEKIT = os.path.join(os.path.dirname(sys.executable), "pipekit")

#: a parameter value a shell would mangle in every possible way
TRICKY_VALUE = "a b;$(touch pwned) \"dq\" 'sq' `id` \\ * ? $HOME ${X:-y} | & > < \n line2 --x=1 ü"

#: the task module of the sandbox tests (outputs below ./data of the analysis directory)
TASKS = '''
import json
import os
import sys

import luigi

import pipekit as law


class Upstream(law.Task):
    """Counts its runs in data/upstream_runs.txt."""

    def output(self):
        return law.LocalFileTarget("data/upstream.txt")

    def run(self):
        os.makedirs("data", exist_ok=True)
        with open("data/upstream_runs.txt", "a") as f:
            f.write("run\\n")
        self.output().dump("from upstream", formatter="text")


class Report(law.SandboxTask):
    """Writes what it sees inside its sandbox to data/report_<tag>.json."""

    tag = luigi.Parameter(default="x")
    value = luigi.Parameter(default="")
    fail = luigi.BoolParameter(default=False)

    def requires(self):
        return Upstream()

    def output(self):
        return law.LocalFileTarget(f"data/report_{self.tag}.json")

    def sandbox_pre_setup_cmds(self):
        return ["export PRE_SETUP=pre"]

    def sandbox_post_setup_cmds(self):
        return ['export POST_SETUP="post-${MY_VARIABLE:-unset}"']

    def sandbox_setup_cmds(self):
        return ["export SETUP_CMD=setup"]

    def run(self):
        print("inside the sandbox:", os.environ.get("LAW_SANDBOX"))
        if self.fail:
            raise ValueError("boom from inside the sandbox")
        net = sorted(os.listdir("/sys/class/net")) if os.path.isdir("/sys/class/net") else None
        self.output().dump({
            "value": self.value,
            "my_variable": os.environ.get("MY_VARIABLE"),
            "input": self.input().load(formatter="text"),
            "input_path": self.input().path,
            "sandbox": os.environ.get("LAW_SANDBOX"),
            "python": sys.executable,
            "prefix": sys.prefix,
            "luigi": luigi.__file__,
            "uid": os.getuid(),
            "env": {k: os.environ.get(k) for k in ("PRE_SETUP", "POST_SETUP", "SETUP_CMD",
                                                   "PIPEKIT_TEST_SECRET", "FORWARDED_VAR")},
            "path": os.environ.get("PATH"),
            "net": net,
        }, formatter="json")


class Branches(law.SandboxTask, law.LocalWorkflow):
    """Three branches, each writing what it sees in its sandbox."""

    def create_branch_map(self):
        return {0: "zero", 1: "one", 2: "two"}

    def output(self):
        return law.LocalFileTarget(f"data/branch_{self.branch}.txt")

    def run(self):
        self.output().dump(f"{self.branch_data} {os.environ.get('MY_VARIABLE')} "
                           f"{os.environ.get('LAW_SANDBOX')}", formatter="text")
'''


def write(path: Path, text: str) -> Path:
    """Write dedented *text* to *path* (parents created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def make_analysis(tmp_path: Path, module: str = "sbtasks", law_cfg: str = "") -> Path:
    """An analysis directory with the test task module (as *module*) and a law.cfg."""
    work = tmp_path / "analysis"
    write(work / f"{module}.py", TASKS)
    write(work / "law.cfg", "[luigi_core]\nlocal_scheduler: True\n" + textwrap.dedent(law_cfg))
    write(work / "test_env1.sh", "export MY_VARIABLE=foo\n")
    return work


def run_pipekit(
    args: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = 180
) -> subprocess.CompletedProcess:
    """``pipekit *args`` in *cwd* with a clean environment; output captured as text."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("LAW_", "PIPEKIT_"))}
    home = cwd.parent / "home"
    home.mkdir(exist_ok=True)
    full_env.update(HOME=str(home), LAW_HOME=str(home / ".law"))
    full_env.update(env or {})
    return subprocess.run(
        [PIPEKIT, *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout
    )


def read_json(path: Path) -> dict:
    return json.loads(path.read_text())
