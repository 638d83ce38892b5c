"""
W5: remote targets on the local XRootD server (task file: bench/tasks/bench_storage.py).

- W5:  existence of a 1000-file collection in one directory, ``TargetCollection.count()`` (what
       a workflow's output collection does). law 0.1.21 stats every file through gfal2; pipekit
       lists the directory once. law's own SiblingFileCollection (one listing) is shown as a
       counter for reference.
- W5b: uploading 100 small (1 kB) files one by one with ``copy_from_local``. pipekit writes to a
       temporary name, verifies the adler32 checksum and renames; law uploads in place.

Times are measured inside the process after a warm-up request (both pay for the gfal2 context
and the connection outside the timed part). Needs tests/infra/xrootd.sh and gfal2.sh; the law
venv gets the same Debian gfal2 bindings through the shim.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from harness import ROOT, Context, Measurement, Workload

INFRA = ROOT / "tests" / "infra"
DATA = Path(os.environ.get("XRD_BASE", "/tmp/infra/xrd")) / "data"
BASE = "root://localhost:1094//bench-w5"
N_EXISTS = 1000
N_COPY = 100


def _available() -> str | None:
    for svc in ("xrootd", "gfal2"):
        proc = subprocess.run([str(INFRA / f"{svc}.sh"), "start"], capture_output=True, text=True)
        if proc.returncode != 0:
            return f"tests/infra/{svc}.sh start failed: {proc.stderr.strip()[-200:]}"
    return None


def _prepare(ctx: Context, impl: str, workdir: Path) -> None:
    # the law venv exists only now (the harness creates it after the availability checks)
    subprocess.run(
        [str(INFRA / "gfal2.sh"), "shim", str(ctx.law_venv), str(ctx.pipekit_venv)],
        check=True,
        capture_output=True,
    )
    with open(workdir / "law.cfg", "a") as f:
        f.write(f"\n[wlcg_fs]\nbase: {BASE}\n")
    files = DATA / "bench-w5" / "exists"
    if not files.is_dir() or len(os.listdir(files)) != N_EXISTS:
        files.mkdir(parents=True, exist_ok=True)
        for i in range(N_EXISTS):
            (files / f"f{i}.txt").write_text(str(i))
        subprocess.run(["chown", "-R", "xrootd:xrootd", str(DATA / "bench-w5")], check=False)
    src = workdir / "src"
    src.mkdir(exist_ok=True)
    for i in range(N_COPY):
        (src / f"f{i}.txt").write_bytes(os.urandom(1024))


def _run(ctx: Context, impl: str, workdir: Path, args: list[str]) -> tuple[Measurement, dict]:
    python = ctx.bin(impl, "python")
    script = str(ROOT / "bench" / "tasks" / "bench_storage.py")
    m = ctx.timed(impl, [python, script, *args], workdir)
    result: dict = {}
    for line in (workdir / "run.log").read_text().splitlines():
        if line.startswith("BENCH_RESULT "):
            result = json.loads(line.split(" ", 1)[1])
    if m.returncode == 0 and result:
        m.counters["process_s"] = round(m.seconds, 3)
        m.seconds = result["seconds"]
    elif m.returncode == 0:
        m.returncode, m.note = 1, f"no result, see {workdir / 'run.log'}"
    return m, result


def _w5(ctx: Context, impl: str, workdir: Path) -> Measurement:
    m, r = _run(ctx, impl, workdir, ["exists", str(N_EXISTS), "exists"])
    if r:
        m.counters["sibling_s"] = round(r["sibling_seconds"], 4)
        if r.get("requests"):
            m.counters["requests"] = sum(r["requests"].values())
        if r["count"] != N_EXISTS:
            m.returncode, m.note = 1, f"found {r['count']} of {N_EXISTS} files"
    return m


def _w5b(ctx: Context, impl: str, workdir: Path) -> Measurement:
    target_dir = f"copy-{impl}-{workdir.name}"
    subprocess.run(["rm", "-rf", str(DATA / "bench-w5" / target_dir)], check=False)
    m, r = _run(ctx, impl, workdir, ["copy", str(N_COPY), target_dir, str(workdir / "src")])
    if r:
        m.counters["files_per_s"] = round(r["files_per_s"], 1)
        if r["count"] != N_COPY:
            m.returncode, m.note = 1, f"only {r['count']} of {N_COPY} files arrived"
    subprocess.run(["rm", "-rf", str(DATA / "bench-w5" / target_dir)], check=False)
    return m


WORKLOADS = [
    Workload(
        "W5",
        "XRootD: existence of a 1000-file collection (in-process)",
        _w5,
        prepare=_prepare,
        target_ratio=0.05,
        available=_available,
    ),
    Workload(
        "W5b",
        "XRootD: upload of 100 small files, one by one (in-process)",
        _w5b,
        prepare=_prepare,
        available=_available,
    ),
]
