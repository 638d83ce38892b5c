"""
S1, S2: how long ``pipekit run module.Task --help`` takes next to ``law run module.Task --help``
(task file: bench/tasks/bench_startup.py). Each measurement is the median of 10 runs.

Both sides get what a normal installation has: compiled bytecode (a per-implementation
``PYTHONPYCACHEPREFIX``, filled by one untimed run, because the machine sets
``PYTHONDONTWRITEBYTECODE``). S1 compares like with like: pipekit runs from
``bench/.venv-pipekit``, which holds exactly what law's venv holds (luigi and its requirements)
plus pipekit, created here on first use. S2 runs pipekit from the project's ``.venv``, where the
test extras also installed jsonschema and requests, which ``import luigi`` then imports too.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from harness import BENCH_DIR, ROOT, Context, Measurement, Workload

TASK = "bench_startup.Selection"
RUNS = int(os.environ.get("BENCH_STARTUP_RUNS", "10"))  # runs per measurement
MIN_VENV = BENCH_DIR / ".venv-pipekit"


def _ensure_min_venv() -> None:
    """A venv with luigi's requirements and pipekit (path-based editable install, no extras)."""
    marker = MIN_VENV / ".installed"
    if marker.exists():
        return
    if not (MIN_VENV / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(MIN_VENV)], check=True)
    subprocess.run(
        [
            str(MIN_VENV / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "-q",
            "--config-settings",
            "editable_mode=compat",
            "-e",
            str(ROOT),
        ],
        check=True,
    )
    marker.write_text("pipekit (editable, compat mode) and its requirements only\n")


def _cmd(ctx: Context, impl: str, venv: Path | None) -> list[str]:
    exe = (
        ctx.bin(impl, "law")
        if impl == "law"
        else str((venv or ctx.pipekit_venv) / "bin" / "pipekit")
    )
    return [exe, "run", TASK, "--help"]


def _env(ctx: Context, impl: str) -> dict[str, str]:
    # an empty value switches PYTHONDONTWRITEBYTECODE off; the prefix keeps caches out of the tree
    return {
        "PYTHONDONTWRITEBYTECODE": "",
        "PYTHONPYCACHEPREFIX": str(ctx.work_root / f"pycache-{impl}"),
    }


def _python(ctx: Context, impl: str, venv: Path | None) -> str:
    return (
        ctx.bin(impl, "python")
        if impl == "law"
        else str((venv or ctx.pipekit_venv) / "bin" / "python")
    )


def _median_run(ctx: Context, impl: str, workdir: Path, cmd: list[str]) -> Measurement:
    times = []
    for _ in range(RUNS):
        m = ctx.timed(impl, cmd, workdir, extra_env=_env(ctx, impl))
        if m.returncode != 0:
            return m
        times.append(m.seconds)
    return Measurement(
        seconds=statistics.median(times),
        maxrss_mb=m.maxrss_mb,
        counters={"min_ms": round(min(times) * 1000)},
    )


def _import_luigi_ms(ctx: Context, impl: str, workdir: Path, venv: Path | None) -> float:
    env = ctx.env(impl, workdir, _env(ctx, impl))
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        subprocess.run(
            [_python(ctx, impl, venv), "-c", "import luigi"], env=env, cwd=workdir, check=True
        )
        times.append(time.perf_counter() - t0)
    return round(statistics.median(times) * 1000)


def _workload(venv: Path | None):
    def prepare(ctx: Context, impl: str, workdir: Path) -> None:
        if impl == "pipekit" and venv is not None:
            _ensure_min_venv()
        ctx.timed(
            impl, _cmd(ctx, impl, venv), workdir, extra_env=_env(ctx, impl), log_name="prepare"
        )  # fills the bytecode cache

    def run(ctx: Context, impl: str, workdir: Path) -> Measurement:
        m = _median_run(ctx, impl, workdir, _cmd(ctx, impl, venv))
        if m.returncode == 0:
            m.counters["import_luigi_ms"] = _import_luigi_ms(ctx, impl, workdir, venv)
        return m

    return prepare, run


_s1_prepare, _s1_run = _workload(MIN_VENV)
_s2_prepare, _s2_run = _workload(None)

WORKLOADS = [
    Workload(
        "S1",
        "run TASK --help, same packages on both sides (median of 10)",
        _s1_run,
        prepare=_s1_prepare,
        target_ratio=1.0,
    ),
    Workload(
        "S2",
        "run TASK --help, pipekit in the test venv (jsonschema, requests installed)",
        _s2_run,
        prepare=_s2_prepare,
    ),
]
