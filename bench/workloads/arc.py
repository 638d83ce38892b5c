"""
A1: a 20-branch ARCWorkflow, one branch per job, first run, against the ARC CE of
``tests/infra/arc.sh`` (A-REX 6.17, fork LRMS, jobs run as "nobody"; task file
bench/tasks/bench_arc.py). pipekit only: law's ARC workflow needs grid storage for its job
outputs (``arc_output_uri``), which the test grid does not set up for it.

The jobs cannot read /root, so they run /usr/bin/python3 with a software area made by
``pipekit software`` on PYTHONPATH (their bootstrap file sets it), and everything they read or
write lives below /tmp/infra/arc-bench. PATH shims log every arcsub / arcstat / arcget call;
counters: calls per command and arcstat calls per poll cycle (a gap of more than 0.5 s starts a
new cycle).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from harness import BENCH_DIR, ROOT, Context, Measurement, Workload

N = 20
POLL = "1s"
COMMANDS = ("arcsub", "arcstat", "arcget")
GRIDCA = Path("/tmp/infra/gridca")
RUNS = Path("/tmp/infra/arc-bench")


def _available() -> str | None:
    if os.geteuid() != 0:
        return "needs root to start the ARC CE of tests/infra/arc.sh"
    return None


def _rundir(workdir: Path) -> Path:
    return RUNS / workdir.name


def _prepare(ctx: Context, impl: str, workdir: Path) -> None:
    if impl == "law":
        return
    for svc in ("gridca", "arc"):
        subprocess.run([str(ROOT / "tests" / "infra" / f"{svc}.sh"), "start"], check=True,
                       stdout=subprocess.DEVNULL, timeout=600)
    run = _rundir(workdir)
    shutil.rmtree(run, ignore_errors=True)
    (run / "out" / f"n{N}").mkdir(parents=True)
    software = run / "software"
    subprocess.run([ctx.bin(impl, "pipekit"), "software"], check=True, stdout=subprocess.DEVNULL,
                   env={**os.environ, "LAW__core__software_dir": str(software)}, timeout=300)
    shutil.copy(BENCH_DIR / "tasks" / "bench_arc.py", run / "bench_arc.py")
    (run / "boot.sh").write_text(f"export PYTHONPATH={software}\n")
    (run / "law.cfg").write_text(
        "[job]\npython_executable = /usr/bin/python3\n"
        f"bootstrap_file = {run / 'boot.sh'}\ncredential_margin = 10m\n"
        "[arc]\nce = https://localhost:8443/arex\n")
    shims = run / "shims"
    shims.mkdir()
    for name in COMMANDS:
        real = shutil.which(name, path="/usr/bin:/bin")
        path = shims / name
        path.write_text(f'#!/bin/bash\necho "$(date +%s.%N) {name} $*" >> "{run}/calls.log"\n'
                        f'exec "{real}" "$@"\n')
        path.chmod(0o755)
    subprocess.run(["chmod", "-R", "a+rX", str(RUNS)], check=True)
    os.chmod(run / "out" / f"n{N}", 0o777)  # the jobs write their outputs there as nobody


def _counters(run: Path) -> dict[str, float]:
    log = run / "calls.log"
    calls = [line.split(" ", 2) for line in log.read_text().splitlines()] if log.exists() else []
    counts = {name: float(sum(1 for c in calls if c[1] == name)) for name in COMMANDS}
    cycles: list[int] = []
    last = None
    for t, name, *_ in calls:
        if name != "arcstat":
            continue
        if last is None or float(t) - last > 0.5:
            cycles.append(0)
        cycles[-1] += 1
        last = float(t)
    counts["poll_cycles"] = float(len(cycles))
    counts["arcstat_per_cycle_max"] = float(max(cycles, default=0))
    return counts


def _w7(ctx: Context, impl: str, workdir: Path) -> Measurement:
    if impl == "law":
        return Measurement(seconds=float("nan"), note="law not measured (see the module docstring)")
    run = _rundir(workdir)
    env = {"PATH": f"{run / 'shims'}:{Path(ctx.bin(impl, 'python')).parent}:{os.environ.get('PATH', '')}",
           "BENCH_OUT": str(run / "out"), "LAW_CONFIG_FILE": str(run / "law.cfg"),
           "PYTHONPATH": str(run), "X509_CERT_DIR": str(GRIDCA / "certificates"),
           "X509_USER_PROXY": str(GRIDCA / "proxy" / "x509up_12h")}
    m = ctx.timed(impl, [ctx.bin(impl, "pipekit"), "run", "bench_arc.ArcBranches", "--workflow",
                         "arc", "--n", str(N), "--poll-interval", POLL], run, extra_env=env,
                  timeout=900)
    outdir = run / "out" / f"n{N}"
    n = len([p for p in os.listdir(outdir) if p.endswith(".json")]) if outdir.exists() else 0
    if n != N:
        m.note += f" only {n}/{N} outputs written"
        m.returncode = m.returncode or 1
    m.counters.update(_counters(run))
    (run / "calls.log").unlink(missing_ok=True)
    return m


WORKLOADS = [
    Workload("A1", f"ARCWorkflow, {N} branches, one per job, first run, poll every {POLL} "
             "(pipekit only)", _w7, prepare=_prepare,
             limits={"arcsub": 1.0, "arcstat_per_cycle_max": 1.0}, available=_available),
]
