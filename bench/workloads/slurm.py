"""
W4: a 200-branch SlurmWorkflow, one branch per job, first run (task file:
bench/tasks/bench_slurm.py), law and pipekit against the same local Slurm
(``tests/infra/slurm.sh``, started with accounting because law needs ``sacct``).

PATH shims log every sbatch / squeue / sacct / scontrol call with a timestamp and exec the
real command. Counters: calls per command, and status calls per poll cycle (calls of squeue,
sacct and ``scontrol show job`` grouped into cycles: a gap of more than a second starts a new
cycle).
Both implementations poll every 5 seconds (``--poll-interval 5s``; law's unit is minutes, and
it also waits one interval after submitting before its first poll).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from harness import ROOT, Context, Measurement, Workload

TASK = "bench_slurm.SlurmBranches"
N = 200
POLL = "5s"
SLURM_CONF = "/tmp/infra/slurm/etc/slurm.conf"
COMMANDS = ("sbatch", "squeue", "sacct", "scontrol")
STATUS = ("squeue", "sacct", "scontrol")


def _available() -> str | None:
    if os.geteuid() != 0:
        return "needs root to run the local Slurm of tests/infra/slurm.sh"
    return None


def _start_cluster() -> None:
    env = dict(os.environ, SLURM_ACCOUNTING="1")
    subprocess.run([str(ROOT / "tests" / "infra" / "slurm.sh"), "start"], env=env, check=True,
                   stdout=subprocess.DEVNULL, timeout=600)


def _write_shims(workdir: Path) -> Path:
    shims = workdir / "shims"
    shims.mkdir(exist_ok=True)
    log = workdir / "calls.log"
    for name in COMMANDS:
        real = shutil.which(name, path="/usr/local/bin:/usr/bin:/bin")
        path = shims / name
        path.write_text(f'#!/bin/bash\necho "$(date +%s.%N) {name} $*" >> "{log}"\nexec "{real}" "$@"\n')
        path.chmod(0o755)
    return shims


def _pycache(ctx: Context) -> Path:
    return ctx.work_root / "pycache-pipekit"


def _prepare(ctx: Context, impl: str, workdir: Path) -> None:
    _start_cluster()
    _write_shims(workdir)
    if impl == "pipekit":
        # pipekit is an editable install and this machine sets PYTHONDONTWRITEBYTECODE=1, so
        # every job would compile pipekit from source; law's pip install ships .pyc files.
        # Compile pipekit once into a bench-private cache (the source tree stays untouched).
        env = dict(os.environ, PYTHONPYCACHEPREFIX=str(_pycache(ctx)))
        subprocess.run([ctx.bin(impl, "python"), "-m", "compileall", "-q",
                        str(ROOT / "pipekit"), str(ROOT / "bench" / "tasks")],
                       env=env, check=True, stdout=subprocess.DEVNULL)


def _counters(workdir: Path) -> dict[str, float]:
    log = workdir / "calls.log"
    calls = [line.split(" ", 2) for line in log.read_text().splitlines()] if log.exists() else []
    counts = {name: float(sum(1 for c in calls if c[1] == name)) for name in COMMANDS}
    cycles: list[int] = []
    last = None
    for t, name, *rest in calls:
        if name not in STATUS or (name == "scontrol" and "show job" not in " ".join(rest)):
            continue  # scontrol show config (MaxArraySize, once) is not a status query
        if last is None or float(t) - last > 1.0:
            cycles.append(0)
        cycles[-1] += 1
        last = float(t)
    counts["poll_cycles"] = float(len(cycles))
    counts["status_calls_per_cycle_max"] = float(max(cycles, default=0))
    return counts


def _w4(ctx: Context, impl: str, workdir: Path) -> Measurement:
    exe = ctx.bin(impl, "law" if impl == "law" else "pipekit")
    path = f"{workdir / 'shims'}:{Path(ctx.bin(impl, 'python')).parent}:{os.environ.get('PATH', '')}"
    env = {"SLURM_CONF": SLURM_CONF, "PATH": path}
    if impl == "pipekit":
        env["PYTHONPYCACHEPREFIX"] = str(_pycache(ctx))  # exported to the jobs by sbatch
    timeout = float(os.environ.get("BENCH_LAW_TIMEOUT", "900")) if impl == "law" else 900.0
    m = ctx.timed(impl, [exe, "run", TASK, "--n", str(N), "--poll-interval", POLL], workdir,
                  extra_env=env, timeout=timeout)
    outdir = workdir / "out" / f"n{N}"
    n = len([p for p in os.listdir(outdir) if p.endswith(".json")]) if outdir.exists() else 0
    if n != N:
        m.note += f" only {n}/{N} outputs written"
        m.returncode = m.returncode or 1
    m.counters.update(_counters(workdir))
    return m


WORKLOADS = [
    Workload("W4", f"SlurmWorkflow, {N} branches, one per job, first run, poll every {POLL}", _w4,
             prepare=_prepare, target_ratio=0.33, law_timeout=900,
             limits={"sbatch": 1.0, "status_calls_per_cycle_max": 2.0}, available=_available),
]
