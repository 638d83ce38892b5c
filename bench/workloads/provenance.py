"""
P1, P2, P6: what provenance costs (pipekit only, against the same workload without it; task
file: bench/tasks/bench_local.py, law.cfg with ``[core] provenance: True``).

- P1: W1 with provenance: 2000 branches, first run, --workers 1 (goal: ≤ 1.5 × W1)
- P2: W2 with provenance: --print-status 1 on the complete workflow (goal: ≤ 1.5 × W2)
- P6: 100 000 branches, all present with records, --print-status 1 (goal: < 3 s); the outputs
  and their records are written by an untimed run first (about a minute)
"""

from __future__ import annotations

import os
from pathlib import Path

from harness import Context, Measurement, Workload, write_law_cfg

TASK = "bench_local.JSONBranches"
PROVENANCE = "[core]\nprovenance: True\n"


def _cmd(ctx: Context, *args: str) -> list[str]:
    return [ctx.bin("pipekit", "pipekit"), "run", TASK, *args]


def _with_provenance(ctx: Context, impl: str, workdir: Path) -> None:
    write_law_cfg(workdir, PROVENANCE)


def _fill(n: int):
    def prepare(ctx: Context, impl: str, workdir: Path) -> None:
        write_law_cfg(workdir, PROVENANCE)
        ctx.timed(impl, _cmd(ctx, "--n", str(n), "--workers", "1"), workdir, log_name="prepare")
        store = workdir / "out" / f"n{n}" / ".pipekit-provenance"
        if not store.exists():
            raise RuntimeError(f"the untimed run wrote no provenance file {store}")

    return prepare


def _p1(ctx: Context, impl: str, workdir: Path) -> Measurement:
    m = ctx.timed(impl, _cmd(ctx, "--n", "2000", "--workers", "1"), workdir)
    outdir = workdir / "out" / "n2000"
    names = set(os.listdir(outdir)) if outdir.exists() else set()
    if len(names - {".pipekit-provenance"}) != 2000 or ".pipekit-provenance" not in names:
        m.note += f" {len(names)} files in {outdir}, expected 2000 outputs and one record file"
        m.returncode = m.returncode or 1
    return m


def _status(n: int):
    def run(ctx: Context, impl: str, workdir: Path) -> Measurement:
        m = ctx.timed(impl, _cmd(ctx, "--n", str(n), "--print-status", "1"), workdir)
        text = (workdir / "run.log").read_text(errors="replace")
        if f"provenance: 0 outdated, {n} current" not in text:
            m.note += " the status does not show every branch as current"
            m.returncode = m.returncode or 1
        return m

    return run


WORKLOADS = [
    Workload("P1", "W1 with provenance: 2000 branches, first run, --workers 1", _p1,
             prepare=_with_provenance, impls=("pipekit",), baseline="W1", baseline_ratio=1.5),
    Workload("P2", "W2 with provenance: --print-status 1, 2000 branches with records", _status(2000),
             prepare=_fill(2000), impls=("pipekit",), baseline="W2", baseline_ratio=1.5),
    Workload("P6", "100 000 branches with records: --print-status 1", _status(100_000),
             prepare=_fill(100_000), impls=("pipekit",), limits={"seconds": 3.0}),
]
