"""
SB1, SB2: sandbox overhead (task file: bench/tasks/bench_sandbox.py).

- SB1: a LocalWorkflow of 10 branches, each run in ``bash::setup.sh``; the script stands for an
  experiment's software setup (it exports MY_VARIABLE and takes 0.3 s). pipekit's environment
  cache is warm (an untimed run of one branch made it); law sources the script for every branch.
- SB2: one task in ``docker::local/debian-py:bookworm`` (Debian minbase + python3, no law, no
  luigi: both implementations forward their own packages into the container), first run.

Both need only what tests/infra/docker.sh provides (dockerd and the image) for SB2.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from harness import BENCH_DIR, Context, Measurement, Workload, write_law_cfg

N_BRANCHES = 10
SETUP_SECONDS = 0.3
IMAGE = "local/debian-py:bookworm"
LAW_DEPS = "six,luigi,law,tenacity,dateutil,typing_extensions"


def _run_cmd(ctx: Context, impl: str, task: str, *args: str) -> list[str]:
    return [
        ctx.bin(impl, impl if impl == "law" else "pipekit"),
        "run",
        f"bench_sandbox.{task}",
        *args,
    ]


def _outputs(workdir: Path, sub: str) -> int:
    d = workdir / "out" / sub
    return len(os.listdir(d)) if d.exists() else 0


# -- SB1: bash ------------------------------------------------------------------------------------


def _prepare_bash(ctx: Context, impl: str, workdir: Path) -> None:
    (workdir / "setup.sh").write_text(f"sleep {SETUP_SECONDS}\nexport MY_VARIABLE=foo\n")
    # warm pipekit's environment cache (law keeps none across processes), then start afresh
    ctx.timed(
        impl,
        _run_cmd(ctx, impl, "BashBranches", "--n", str(N_BRANCHES), "--branch", "0"),
        workdir,
        log_name="prepare",
    )
    shutil.rmtree(workdir / "out", ignore_errors=True)


def _sb1(ctx: Context, impl: str, workdir: Path) -> Measurement:
    m = ctx.timed(
        impl, _run_cmd(ctx, impl, "BashBranches", "--n", str(N_BRANCHES), "--workers", "1"), workdir
    )
    n = _outputs(workdir, "bash")
    m.counters["s_per_task"] = round(m.seconds / N_BRANCHES, 3)
    if n != N_BRANCHES:
        m.note += f" only {n}/{N_BRANCHES} outputs written"
        m.returncode = m.returncode or 1
    return m


# -- SB2: docker ----------------------------------------------------------------------------------


def _docker_status() -> str | None:
    if shutil.which("docker") is None:
        return "docker is not installed"
    try:
        proc = subprocess.run(
            ["docker", "image", "inspect", IMAGE], capture_output=True, timeout=30
        )
    except subprocess.TimeoutExpired:
        return "dockerd does not answer"
    return (
        None
        if proc.returncode == 0
        else f"no dockerd or no image {IMAGE} (tests/infra/docker.sh start)"
    )


def _prepare_docker(ctx: Context, impl: str, workdir: Path) -> None:
    out = workdir / "out"
    out.mkdir(exist_ok=True)
    extra = "[docker_sandbox_env]\nMY_VARIABLE: foo\nBENCH_IMPL\nBENCH_OUT\n"
    if impl == "law":
        # law runs 'law' inside: its packages are forwarded, but the task file and the output
        # directory must be mounted, and Debian's interpreter is python3
        tasks = BENCH_DIR / "tasks" / "bench_sandbox.py"
        extra += (
            "[docker_sandbox]\nlaw_executable: python3 -m law\n"
            f"[docker_sandbox_volumes]\n{tasks}: {{{{LAW_FORWARD_PY}}}}/bench_sandbox.py\n"
            f"{out}: {out}\n"
        )
    write_law_cfg(workdir, extra)


def _sb2(ctx: Context, impl: str, workdir: Path) -> Measurement:
    # law 0.1.21 forwards six, luigi, law, tenacity and dateutil; luigi 3.8 also needs this
    extra = {"LAW_SOFTWARE_DEPS": LAW_DEPS} if impl == "law" else None
    m = ctx.timed(impl, _run_cmd(ctx, impl, "InDocker"), workdir, extra_env=extra)
    if _outputs(workdir, "docker") != 1:
        m.note += " output not written"
        m.returncode = m.returncode or 1
    return m


WORKLOADS = [
    Workload(
        "SB1",
        f"bash sandbox, warm env cache: {N_BRANCHES} sandboxed branches, 0.3 s setup script",
        _sb1,
        prepare=_prepare_bash,
    ),
    Workload(
        "SB2",
        "Docker sandbox: one task in a Debian + python3 container",
        _sb2,
        prepare=_prepare_docker,
        available=_docker_status,
    ),
]
