"""
The benchmark harness: runs each workload with law and with pipekit, alternating, in one run,
and prints a table of both times and their ratio.

A workload module in ``bench/workloads/`` defines ``WORKLOADS``, a list of :class:`Workload`.
Both implementations run **the same task file** from ``bench/tasks/``; it imports ``law`` or
``pipekit as law`` depending on ``BENCH_IMPL``. law (``law==0.1.21``, ``luigi==3.8.1``) lives in
its own virtual environment, created by the harness in ``bench/.venv-law``; pipekit runs from the
project's ``.venv``.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

__all__ = ["Workload", "Context", "Measurement", "IMPLS", "COMPARED_WITH"]

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
IMPLS = ("law", "pipekit")
COMPARED_WITH = ("law", "raw")
LAW_REQUIREMENTS = ["law==0.1.21", "luigi==3.8.1"]


@dataclass
class Measurement:
    """One timed run: wall seconds, peak memory of the measured process, and extra counters."""

    seconds: float
    maxrss_mb: float = 0.0
    returncode: int = 0
    counters: dict[str, float] = field(default_factory=dict)
    note: str = ""


@dataclass
class Workload:
    """
    A benchmark workload. *prepare* sets up the working directory (untimed); *run* does the
    timed part and returns a :class:`Measurement`. *target_ratio* is the goal for
    pipekit/law; *limits* are absolute goals for pipekit (``{"seconds": 3, "maxrss_mb": 300}``);
    *baseline* / *baseline_ratio* compare pipekit with pipekit on another workload (a feature's
    cost: W1 with provenance against W1).
    """

    name: str
    title: str
    run: Callable[[Context, str, Path], Measurement]
    prepare: Callable[[Context, str, Path], None] | None = None
    target_ratio: float | None = None
    limits: dict[str, float] = field(default_factory=dict)
    law_timeout: float | None = None
    law_requirements: list[str] = field(default_factory=list)
    available: Callable[[], str | None] | None = None  # returns a reason when it cannot run
    #: implementations this workload runs (None: all); pipekit-only workloads compare with
    #: *baseline*, another workload's pipekit median, and aim at ``pipekit <= baseline_ratio x``
    impls: tuple[str, ...] | None = None
    baseline: str | None = None
    baseline_ratio: float | None = None
    #: what pipekit is compared with: "law", or "raw" (the batch system used directly, e.g. one
    #: ``sbatch --array`` of the same jobs; *run* is then called with impl "raw")
    compare_with: str = "law"
    #: further implementations measured alongside, shown as ``<impl>_s`` and
    #: ``pipekit_per_<impl>`` in the counters (e.g. "rawjob": the raw array running pipekit's
    #: own job command, which separates the jobs' start-up cost from what the loop adds)
    extra_impls: tuple[str, ...] = ()


class Context:
    """Where the two implementations live and how to run a command under each."""

    def __init__(self, work_root: Path, law_venv: Path, pipekit_venv: Path):
        self.work_root = work_root
        self.law_venv = law_venv
        self.pipekit_venv = pipekit_venv

    def bin(self, impl: str, name: str) -> str:
        venv = self.law_venv if impl == "law" else self.pipekit_venv
        return str(venv / "bin" / name)

    def env(self, impl: str, workdir: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
        venv = self.law_venv if impl == "law" else self.pipekit_venv
        env = {k: v for k, v in os.environ.items() if not k.startswith(("LAW_", "PIPEKIT_", "LUIGI_"))}
        env.update(
            BENCH_IMPL=impl,
            BENCH_OUT=str(workdir / "out"),
            PYTHONPATH=str(BENCH_DIR / "tasks"),
            PATH=f"{venv / 'bin'}:{env.get('PATH', '')}",
            LAW_HOME=str(workdir / ".law"),
            LAW_CONFIG_FILE=str(workdir / "law.cfg"),
            VIRTUAL_ENV=str(venv),
        )
        env.update(extra or {})
        return env

    def timed(self, impl: str, args: list[str], workdir: Path, extra_env: dict[str, str] | None = None,
              timeout: float | None = None, log_name: str = "run") -> Measurement:
        """Run a command of *impl* in *workdir*; wall time and peak RSS of that process tree."""
        log = workdir / f"{log_name}.log"
        env = self.env(impl, workdir, extra_env)
        t0 = time.perf_counter()
        with open(log, "ab") as out:
            proc = subprocess.Popen(args, cwd=workdir, env=env, stdout=out, stderr=subprocess.STDOUT)
            try:
                _, status, usage = _wait4(proc, timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                return Measurement(seconds=float("inf"), returncode=-9, note=f"timeout after {timeout:.0f} s")
        seconds = time.perf_counter() - t0
        rc = os.waitstatus_to_exitcode(status)
        # CPU seconds (the process and the children it waited for): steadier than wall time
        # on a loaded machine, reported beside it
        cpu = round(usage.ru_utime + usage.ru_stime, 3)
        return Measurement(seconds=seconds, maxrss_mb=usage.ru_maxrss / 1024.0, returncode=rc,
                           counters={"cpu_s": cpu}, note="" if rc == 0 else f"exit {rc}, see {log}")


def _wait4(proc: subprocess.Popen, timeout: float | None):
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            return pid, status, usage
        if deadline is not None and time.monotonic() > deadline:
            raise subprocess.TimeoutExpired(proc.args, timeout)
        time.sleep(0.005)


def write_law_cfg(workdir: Path, extra: str = "") -> None:
    """The config both implementations read: local scheduler, nothing else special."""
    (workdir / "law.cfg").write_text("[luigi_core]\nlocal_scheduler: True\nno_lock: True\n" + extra)


def fresh_workdir(ctx: Context, workload: Workload, impl: str, rep: int) -> Path:
    d = ctx.work_root / f"{workload.name}-{impl}-{rep}"
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    write_law_cfg(d)
    return d


def ensure_law_venv(path: Path, requirements: list[str]) -> None:
    marker = path / ".requirements"
    wanted = "\n".join(sorted(set(requirements)))
    if marker.exists() and marker.read_text() == wanted:
        return
    if not (path / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
    subprocess.run([str(path / "bin" / "python"), "-m", "pip", "install", "-q", *sorted(set(requirements))],
                   check=True)
    marker.write_text(wanted)


def median(values: list[float]) -> float:
    finite = [v for v in values if v != float("inf")]
    return statistics.median(finite) if finite else float("inf")
