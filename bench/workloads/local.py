"""
W1-W3, W6: LocalWorkflow workloads (task file: bench/tasks/bench_local.py).

- W1: 2000 branches writing one small JSON file each, first run, --workers 1
- W2: --print-status 1 on that complete workflow
- W3: re-run when everything is complete
- W6: 100 000 branches: branch map and --print-status 1 with no outputs (time, peak memory)
"""

from __future__ import annotations

import os
from pathlib import Path

from harness import Context, Measurement, Workload

TASK = "bench_local.JSONBranches"


def _run_cmd(ctx: Context, impl: str, *args: str) -> list[str]:
    return [ctx.bin(impl, impl if impl == "law" else "pipekit"), "run", TASK, *args]


def _w1(ctx: Context, impl: str, workdir: Path) -> Measurement:
    m = ctx.timed(impl, _run_cmd(ctx, impl, "--n", "2000", "--workers", "1"), workdir)
    outdir = workdir / "out" / "n2000"
    n = len(os.listdir(outdir)) if outdir.exists() else 0
    if n != 2000:
        m.note += f" only {n}/2000 outputs written"
        m.returncode = m.returncode or 1
    return m


def _fill(ctx: Context, impl: str, workdir: Path) -> None:
    # outputs written by the implementation itself (untimed), so both see identical files
    ctx.timed(impl, _run_cmd(ctx, impl, "--n", "2000", "--workers", "1"), workdir, log_name="prepare")


def _w2(ctx: Context, impl: str, workdir: Path) -> Measurement:
    return ctx.timed(impl, _run_cmd(ctx, impl, "--n", "2000", "--print-status", "1"), workdir)


def _w3(ctx: Context, impl: str, workdir: Path) -> Measurement:
    return ctx.timed(impl, _run_cmd(ctx, impl, "--n", "2000", "--workers", "1"), workdir)


def _w6(ctx: Context, impl: str, workdir: Path) -> Measurement:
    timeout = float(os.environ.get("BENCH_LAW_TIMEOUT", "120")) if impl == "law" else None
    return ctx.timed(impl, _run_cmd(ctx, impl, "--n", "100000", "--print-status", "1"), workdir,
                     timeout=timeout)


WORKLOADS = [
    Workload("W1", "LocalWorkflow, 2000 branches, first run, --workers 1", _w1, target_ratio=0.1),
    Workload("W2", "--print-status 1 on the complete 2000-branch workflow", _w2, prepare=_fill,
             target_ratio=0.2),
    Workload("W3", "re-run of the complete 2000-branch workflow", _w3, prepare=_fill, target_ratio=0.2),
    Workload("W6", "100 000 branches: branch map + --print-status 1, no outputs", _w6,
             limits={"seconds": 3.0, "maxrss_mb": 300.0}, law_timeout=120),
]
