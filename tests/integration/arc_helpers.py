"""
Helpers for the ARC integration tests: the real A-REX of ``tests/infra/arc.sh`` (fork LRMS,
jobs run as "nobody"), a work directory the jobs can use, the software area their bootstrap
file puts on PYTHONPATH, PATH shims that count arcsub / arcstat / arcget / arckill / arcclean /
arcsync calls, and ``pipekit run`` as a subprocess the way a user runs it.

A-REX runs a job as "nobody", which cannot read /root (where pyenv and often the checkout
live): the jobs use /usr/bin/python3 and a copy of pipekit, luigi and luigi's dependencies in
a world-readable directory, like the software area a grid site provides on CVMFS. The test
directories live below /tmp/infra/arc-tests (pytest's own tmp_path is private to root).
"""

from __future__ import annotations

import atexit
import functools
import json
import os
import shutil
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import grid_helpers
from slurm_helpers import Shims

HERE = Path(__file__).resolve().parent
WORK = Path("/tmp/infra/arc-tests")
COMMANDS = ("arcsub", "arcstat", "arcget", "arckill", "arcclean", "arcsync")
#: poll every second (ARC's own state updates come every 5 s: tests/infra/arc.sh)
FAST = ("--poll-interval", "1s")

__all__ = ["WORK", "FAST", "software_area", "ArcRun", "arc_shims", "arcstat_states"]


@functools.cache
def software_area() -> str:
    """
    The software area of the jobs, made as a user would: ``pipekit software`` copies pipekit,
    luigi and luigi's dependencies into ``[core] software_dir`` (here one "nobody" can read).
    """
    area = WORK / f"software-{uuid.uuid4().hex[:8]}"
    WORK.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "LAW__core__software_dir": str(area)}
    subprocess.run([str(Path(sys.executable).parent / "pipekit"), "software"], env=env,
                   check=True, capture_output=True, timeout=120)
    subprocess.run(["chmod", "-R", "a+rX", str(WORK)], check=True)
    atexit.register(shutil.rmtree, area, True)
    return str(area)


def arc_shims(directory: Path) -> Shims:
    return Shims(directory, COMMANDS)


class ArcRun:
    """
    A test directory under /tmp/infra/arc-tests holding the task module, a law.cfg for the
    test CE, the bootstrap file and the (world-writable) output directory ``out``.
    """

    def __init__(self, cfg_extra: str = ""):
        self.dir = WORK / f"t{uuid.uuid4().hex[:10]}"
        self.out = self.dir / "out"
        self.out.mkdir(parents=True)
        os.chmod(self.dir, 0o755)
        os.chmod(self.out, 0o777)  # the jobs run as nobody
        shutil.copy(HERE / "arc_tasks.py", self.dir / "arc_tasks.py")
        boot = self.dir / "boot.sh"
        boot.write_text(f"export PYTHONPATH={software_area()}\n")
        (self.dir / "law.cfg").write_text(textwrap.dedent(f"""\
            [modules]
            arc_tasks

            [job]
            python_executable = /usr/bin/python3
            bootstrap_file = {boot}
            credential_margin = 10m

            [arc]
            ce = {grid_helpers.ARC_CE}
            """) + textwrap.dedent(cfg_extra))
        self.shims = arc_shims(self.dir / "shims")
        for path in (self.dir / "arc_tasks.py", boot, self.dir / "law.cfg"):
            os.chmod(path, 0o644)

    def env(self, proxy: str | None = "x509up_12h") -> dict[str, str]:
        venv_bin = str(Path(sys.executable).parent)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("LAW_", "PIPEKIT_"))}
        env = grid_helpers.grid_env(proxy, env)
        env.update(PATH=f"{self.shims.dir}:{venv_bin}:{env.get('PATH', '/usr/bin:/bin')}",
                   PYTHONPATH=str(self.dir))
        return env

    def cmd(self, task: str, *args: str) -> list[str]:
        return [str(Path(sys.executable).parent / "pipekit"), "run", f"arc_tasks.{task}",
                "--workflow", "arc", *args]

    def run(self, task: str, *args: str, proxy: str | None = "x509up_12h",
            timeout: float = 300) -> subprocess.CompletedProcess:
        """``pipekit run arc_tasks.TASK --workflow arc ARGS`` here; stdout and stderr merged."""
        return subprocess.run(self.cmd(task, *args), cwd=self.dir, env=self.env(proxy),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              timeout=timeout)

    def start(self, task: str, *args: str, proxy: str | None = "x509up_12h") -> subprocess.Popen:
        return subprocess.Popen(self.cmd(task, *args), cwd=self.dir, env=self.env(proxy),
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def ledger(self, jobs_dir: Path | None = None) -> dict[int, dict]:
        found = sorted((jobs_dir or self.out).glob("pipekit_arc_*/ledger.json"))
        if not found:
            return {}
        return {int(k): v for k, v in json.loads(found[0].read_text())["jobs"].items()}

    def job_list(self, jobs_dir: Path | None = None) -> str:
        return str(next((jobs_dir or self.out).glob("pipekit_arc_*/arc_jobs.dat")))

    def outputs(self) -> list[str]:
        return sorted(p.name for p in self.out.glob("char_*.json"))

    def cleanup(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


def arcstat_states(job_list: str, ids: list[str]) -> dict[str, str]:
    """``{job id: ARC state}`` straight from arcstat (not through pipekit)."""
    from pipekit.batch.arc_status import parse_arcstat_json

    ids_file = Path(job_list).with_suffix(".test-ids")
    ids_file.write_text("".join(f"{i}\n" for i in ids))
    proc = subprocess.run(["arcstat", "-j", job_list, "-i", str(ids_file), "-J"],
                          capture_output=True, text=True, env=grid_helpers.grid_env(), timeout=60)
    return {i: info.state for i, info in parse_arcstat_json(proc.stdout).items()}
