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

W4r and W7 set pipekit against the batch system used directly: one ``sbatch --array`` whose
tasks run the same trivial Python branches (:data:`RAW_JOB`), timed from the sbatch call to the
last output written. W4r: W4's 200 one-branch jobs; W7: 2000 jobs of 10 branches. Both use the
shared cluster as it runs (no accounting switch) and add the seconds sbatch took, the ledger's
size and the loop's own cost per poll cycle (which the loop keeps in the ledger). law is not run
for W7: at W4's pace (0.5 s per job) 2000 jobs take it well over 15 minutes per repetition.
A third run, "rawjob", is the same raw array whose tasks run pipekit's own job command on specs
the benchmark writes: it costs what pipekit's jobs cost, without pipekit's submission and job
loop, so ``pipekit_per_rawjob`` is what the loop adds and ``rawjob_s / raw`` what the jobs'
start-up costs (luigi, pipekit and the task module imported in every job).
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import time
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
        # the end is logged too (sbatch-done ...): W4r and W7 report how long submitting took
        path.write_text(f'#!/bin/bash\necho "$(date +%s.%N) {name} $*" >> "{log}"\n"{real}" "$@"\n'
                        f'rc=$?\necho "$(date +%s.%N) {name}-done" >> "{log}"\nexit $rc\n')
        path.chmod(0o755)
    return shims


def _pycache(ctx: Context) -> Path:
    return ctx.work_root / "pycache-pipekit"


_COMPILE = """
import compileall, re, sys
skip = re.compile(r"/(test|tests|idlelib|tkinter|lib2to3|ensurepip)/")
for d in sys.argv[1:] + [p for p in sys.path if p]:
    compileall.compile_dir(d, quiet=1, rx=skip)
"""


def _compile_for_jobs(ctx: Context) -> None:
    """
    pipekit is an editable install and this machine sets PYTHONDONTWRITEBYTECODE=1, so every job
    would compile pipekit from source; law's pip install ships .pyc files. Compile it once into
    a bench-private cache (the source tree stays untouched) that the jobs get as
    PYTHONPYCACHEPREFIX. With a prefix set, Python looks for *every* module's .pyc there, the
    standard library's and luigi's too, so those are compiled into it as well (once; later runs
    find them up to date) — without them each job compiled luigi and half the standard library,
    0.4 s of CPU per job.
    """
    env = dict(os.environ, PYTHONPYCACHEPREFIX=str(_pycache(ctx)))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    subprocess.run([ctx.bin("pipekit", "python"), "-c", _COMPILE, str(ROOT / "pipekit"),
                    str(ROOT / "bench" / "tasks")], env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _prepare(ctx: Context, impl: str, workdir: Path) -> None:
    _start_cluster()
    _write_shims(workdir)
    if impl == "pipekit":
        _compile_for_jobs(ctx)


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


# -- pipekit against a raw job array (W4r, W7) -------------------------------------------------

#: what each raw array task runs: the branches of its job, each writing its JSON file like
#: bench_slurm.SlurmBranches (temporary file + rename, as pipekit's targets do)
RAW_JOB = """
import json, os, sys
per_job, out = int(sys.argv[1]), sys.argv[2]
i = int(os.environ["SLURM_ARRAY_TASK_ID"])
for b in range(i * per_job, (i + 1) * per_job):
    path = os.path.join(out, "branch_%d.json" % b)
    with open(path + ".tmp", "w") as f:
        json.dump({"index": b}, f)
    os.replace(path + ".tmp", path)
t = os.times()
print("cpu_s", t.user + t.system)  # the job's own CPU, for the comparison with pipekit's
"""


def _cluster_up() -> bool:
    env = dict(os.environ, SLURM_CONF=SLURM_CONF)
    try:
        return subprocess.run(["sinfo", "-h"], env=env, capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _prepare_raw(ctx: Context, impl: str, workdir: Path) -> None:
    # the cluster is shared: use it as it is (with or without accounting), start it only if down
    if not _cluster_up():
        subprocess.run([str(ROOT / "tests" / "infra" / "slurm.sh"), "start"], check=True,
                       stdout=subprocess.DEVNULL, timeout=600)
    _write_shims(workdir)
    if impl in ("pipekit", "rawjob"):
        _compile_for_jobs(ctx)


def _count_outputs(outdir: Path) -> int:
    try:
        return sum(1 for n in os.listdir(outdir) if n.endswith(".json"))
    except OSError:
        return 0


def _pipekit_job_specs(ctx: Context, workdir: Path, n_jobs: int, per_job: int) -> Path:
    """
    The job specs pipekit writes for this workflow (one per array task, the format of
    pipekit.job.spec), so that a raw array can run pipekit's own job command on them.
    """
    specs = workdir / "raw-jobs"
    specs.mkdir()
    n = n_jobs * per_job
    for i in range(n_jobs):
        spec = {"task_module": "bench_slurm", "task_class": "SlurmBranches", "params": {"n": str(n)},
                "branches": list(range(i * per_job, (i + 1) * per_job)), "workers": 1,
                "family_params": {}, "python_path": [str(ROOT / "bench" / "tasks")],
                "cwd": str(workdir), "job_num": i, "attempt": 1, "tag": "raw", "version": 1}
        (specs / f"spec_{i}.json").write_text(json.dumps(spec))
    return specs


def _raw_array(ctx: Context, impl: str, workdir: Path, n_jobs: int, per_job: int,
               timeout: float) -> Measurement:
    """
    One ``sbatch --array=0-(n_jobs-1)`` of *per_job* branches each; the time is from the sbatch
    call to the last output written (its mtime): what the array itself takes, with no waiting
    on the user's side. impl "raw": each task is trivial Python (:data:`RAW_JOB`); "rawjob":
    each task is pipekit's job command, ``python -m pipekit.job SPEC`` (imports luigi, pipekit
    and the task module, runs and measures the branches, writes the exit-status file) — the same
    work as pipekit's jobs, without pipekit's submission and polling.
    """
    n = n_jobs * per_job
    outdir = workdir / "out" / f"n{n}"
    outdir.mkdir(parents=True)
    logs = workdir / "raw-logs"
    logs.mkdir()
    script = workdir / "raw_job.sh"
    python = shlex.quote(ctx.bin(impl, "python"))
    if impl == "rawjob":
        specs = _pipekit_job_specs(ctx, workdir, n_jobs, per_job)
        body = (f'd={shlex.quote(str(specs))}; i="$SLURM_ARRAY_TASK_ID"\n'
                f'exec {python} -m pipekit.job "$d/spec_$i.json" --status-file "$d/status_$i.json"\n')
    else:
        body = f"exec {python} -c {shlex.quote(RAW_JOB)} {per_job} {shlex.quote(str(outdir))}\n"
    script.write_text("#!/bin/bash\n" + body)
    script.chmod(0o755)
    extra = {"SLURM_CONF": SLURM_CONF, "PATH": f"{workdir / 'shims'}:{os.environ.get('PATH', '')}"}
    if impl == "rawjob":
        extra["PYTHONPYCACHEPREFIX"] = str(_pycache(ctx))
    env = ctx.env(impl, workdir, extra)
    t0 = time.time()
    p0 = time.perf_counter()
    proc = subprocess.run(["sbatch", "--parsable", f"--array=0-{n_jobs - 1}",
                           f"--output={logs}/log_%a.txt", f"--job-name=rawbench_{workdir.name}",
                           str(script)], cwd=workdir, env=env, capture_output=True, text=True)
    submit_s = time.perf_counter() - p0
    if proc.returncode != 0:
        return Measurement(float("inf"), returncode=proc.returncode, note=proc.stderr.strip()[-200:])
    while _count_outputs(outdir) < n and time.time() - t0 < timeout:
        time.sleep(1.0)  # polling here costs nothing measured: the time comes from the mtimes
    done = _count_outputs(outdir)
    if done < n:
        return Measurement(float("inf"), returncode=1, note=f"only {done}/{n} outputs written")
    last = max(e.stat().st_mtime for e in os.scandir(outdir) if e.name.endswith(".json"))
    m = Measurement(seconds=last - t0)
    m.counters.update(_counters(workdir), submit_s=round(submit_s, 3))
    time.sleep(2)  # the last jobs' logs
    cpu = []
    for log in logs.iterdir():
        for line in log.read_text().splitlines():
            if line.startswith("cpu_s "):
                cpu.append(float(line.split()[1]))
    if impl == "rawjob":  # pipekit's job measures itself in its exit-status file
        cpu = [json.loads(p.read_text())["cpu_s"] for p in (workdir / "raw-jobs").glob("status_*.json")]
    if cpu:
        m.counters["job_cpu_ms_median"] = round(1000 * sorted(cpu)[len(cpu) // 2], 1)
    return m


def _ledger_figures(workdir: Path) -> dict[str, float]:
    """Ledger size and the loop's own cost per poll cycle (kept in the ledger by the loop)."""
    found = sorted((workdir / "out" / "jobs").glob("pipekit_slurm_*/ledger.json"))
    if not found:
        return {}
    data = json.loads(found[0].read_text())
    polling = (data.get("workflow") or {}).get("polling") or {}
    out = {"ledger_kb": round(found[0].stat().st_size / 1024.0, 1)}
    for key in ("queries", "cycle_ms_median", "cycle_ms_max", "early_ends"):
        if key in polling:
            out[key] = float(polling[key])
    usage = [j["usage"] for j in data["jobs"].values() if j.get("usage")]
    cpu = sorted(u["cpu_s"] for u in usage if "cpu_s" in u)
    if cpu:
        out["job_cpu_ms_median"] = round(1000 * cpu[len(cpu) // 2], 1)
    ends = [u["end"] for u in usage if "end" in u]
    if ends:  # from the last job's end to the loop's last ledger write: what polling adds
        out["tail_s"] = round(float(data["updated"]) - max(ends), 2)
    return out


def _submit_seconds(workdir: Path) -> float:
    """Seconds the sbatch calls took (the shims log their start and end)."""
    log = workdir / "calls.log"
    starts, total = {}, 0.0
    for line in log.read_text().splitlines() if log.exists() else []:
        t, name, *_ = line.split(" ", 2)
        if name == "sbatch":
            starts[len(starts)] = float(t)
        elif name == "sbatch-done" and starts:
            total += float(t) - starts.pop(max(starts))
    return round(total, 3)


def _vs_raw(n_jobs: int, per_job: int, timeout: float):
    def run(ctx: Context, impl: str, workdir: Path) -> Measurement:
        if impl in ("raw", "rawjob"):
            return _raw_array(ctx, impl, workdir, n_jobs, per_job, timeout)
        n = n_jobs * per_job
        path = f"{workdir / 'shims'}:{Path(ctx.bin(impl, 'python')).parent}:{os.environ.get('PATH', '')}"
        env = {"SLURM_CONF": SLURM_CONF, "PATH": path, "PYTHONPYCACHEPREFIX": str(_pycache(ctx))}
        m = ctx.timed(impl, [ctx.bin(impl, "pipekit"), "run", TASK, "--n", str(n), "--tasks-per-job",
                             str(per_job), "--poll-interval", POLL], workdir, extra_env=env,
                      timeout=timeout)
        done = _count_outputs(workdir / "out" / f"n{n}")
        if done != n:
            m.note += f" only {done}/{n} outputs written"
            m.returncode = m.returncode or 1
        m.counters.update(_counters(workdir), submit_s=_submit_seconds(workdir))
        m.counters.update(_ledger_figures(workdir))
        return m

    return run


WORKLOADS = [
    Workload("W4", f"SlurmWorkflow, {N} branches, one per job, first run, poll every {POLL}", _w4,
             prepare=_prepare, target_ratio=0.33, law_timeout=900,
             limits={"sbatch": 1.0, "status_calls_per_cycle_max": 2.0}, available=_available),
    Workload("W4r", f"W4's {N} jobs: pipekit against one raw sbatch --array of the same "
             "trivial Python jobs", _vs_raw(N, 1, 900), prepare=_prepare_raw, target_ratio=1.5,
             limits={"sbatch": 1.0, "status_calls_per_cycle_max": 2.0}, available=_available,
             compare_with="raw", extra_impls=("rawjob",)),
    Workload("W7", "2000 jobs x 10 branches on the local Slurm: pipekit against one raw sbatch "
             "--array", _vs_raw(2000, 10, 3600), prepare=_prepare_raw, target_ratio=1.3,
             limits={"status_calls_per_cycle_max": 2.0}, available=_available, compare_with="raw",
             extra_impls=("rawjob",)),
]
