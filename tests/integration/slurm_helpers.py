"""
Helpers for the Slurm integration tests: start the real single-node cluster of
``tests/infra/slurm.sh`` (skip locally, fail in CI when it cannot start), PATH shims that log
and then exec the real Slurm commands (to count sbatch / squeue / sacct / scontrol calls), and
running ``pipekit run`` as a subprocess the way a user does.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
INFRA = ROOT / "tests" / "infra" / "slurm.sh"
#: PIPEKIT_TEST_SLURM_CONF runs the tests against another (already running) cluster instead
SLURM_CONF = os.environ.get("PIPEKIT_TEST_SLURM_CONF") or "/tmp/infra/slurm/etc/slurm.conf"
COMMANDS = ("sbatch", "squeue", "sacct", "scontrol", "scancel")
#: poll options for tests: a cycle every half second
FAST = ("--poll-interval", "0.5s")


def start_cluster(accounting: bool = False) -> str | None:
    """Start (or reconfigure) the cluster; returns None when it runs, else the reason."""
    if os.environ.get("PIPEKIT_TEST_SLURM_CONF"):
        return None  # someone else's cluster: used as it is
    if os.geteuid() != 0:
        return "tests/infra/slurm.sh needs root (it runs the Slurm daemons as root)"
    env = dict(os.environ, SLURM_ACCOUNTING="1" if accounting else "0")
    env.pop("SLURM_MIN_JOB_AGE", None)
    env.pop("SLURM_CPUS", None)
    try:
        proc = subprocess.run([str(INFRA), "start"], env=env, capture_output=True, text=True,
                              timeout=600)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"tests/infra/slurm.sh start failed: {e}"
    if proc.returncode != 0:
        return f"tests/infra/slurm.sh start failed: {proc.stderr.strip()[-500:]}"
    return None


def restart_controller() -> None:
    subprocess.run([str(INFRA), "restart-controller"], check=True, capture_output=True, timeout=120)


def slurm(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run a Slurm client command directly (not through the shims)."""
    return subprocess.run(list(args), env=dict(os.environ, SLURM_CONF=SLURM_CONF),
                          capture_output=True, text=True, check=check, timeout=60)


class Shims:
    """A directory of PATH shims that log each call and exec the real command (*commands*:
    the Slurm commands unless given)."""

    def __init__(self, directory: Path, commands: tuple[str, ...] = COMMANDS):
        self.dir = directory
        self.log = directory / "calls.log"
        directory.mkdir(parents=True, exist_ok=True)
        for name in commands:
            self.write(name)

    def write(self, name: str, after: str = "") -> None:
        """(Re)write the shim of *name*; *after* is bash run after the real command."""
        real = shutil.which(name, path="/usr/local/bin:/usr/bin:/bin")
        assert real, f"{name} is not installed"
        body = f'"{real}" "$@"\n' if not after else f'"{real}" "$@"; rc=$?\n{after}\nexit $rc\n'
        path = self.dir / name
        path.write_text(f'#!/bin/bash\necho "{name} $*" >> "{self.log}"\n' + body)
        path.chmod(0o755)

    def fail(self, name: str, message: str) -> None:
        """Make *name* fail like a controller that does not answer (fault injection)."""
        path = self.dir / name
        path.write_text(f'#!/bin/bash\necho "{name} $*" >> "{self.log}"\n'
                        f'echo "{name}: error: {message}" >&2\nexit 1\n')
        path.chmod(0o755)

    def slow(self, name: str, seconds: float, times: int | None = None) -> None:
        """
        Make *name* answer only after *seconds* (a controller too busy to answer in time; fault
        injection), for its first *times* calls (None: always), then run the real command.
        """
        real = shutil.which(name, path="/usr/local/bin:/usr/bin:/bin")
        assert real, f"{name} is not installed"
        limit = "" if times is None else f'[ "$(grep -c "^{name} " "{self.log}")" -le {times} ] && '
        path = self.dir / name
        path.write_text(f'#!/bin/bash\necho "{name} $*" >> "{self.log}"\n'
                        f'{limit}sleep {seconds:g}\nexec "{real}" "$@"\n')
        path.chmod(0o755)

    def calls(self, name: str) -> list[str]:
        if not self.log.exists():
            return []
        return [line for line in self.log.read_text().splitlines() if line.split(" ", 1)[0] == name]


#: $LAW_HOME of the pipekit runs of these tests (workflows list their ledgers there), so that
#: the tests leave the user's ~/.law as they found it
LAW_HOME = tempfile.mkdtemp(prefix="pk-slurm-tests-law-home-")
atexit.register(shutil.rmtree, LAW_HOME, True)


def pipekit_env(shims: Shims | None = None) -> dict[str, str]:
    venv_bin = str(Path(sys.executable).parent)
    path = f"{venv_bin}:{os.environ.get('PATH', '/usr/bin:/bin')}"
    if shims is not None:
        path = f"{shims.dir}:{path}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LAW_", "PIPEKIT_"))}
    env.update(SLURM_CONF=SLURM_CONF, PATH=path, PYTHONPATH=str(HERE), LAW_HOME=LAW_HOME)
    return env


def pipekit_cmd(task: str, *args: str) -> list[str]:
    return [str(Path(sys.executable).parent / "pipekit"), "run", f"slurm_tasks.{task}", *args]


def run_pipekit(cwd: Path, task: str, *args: str, shims: Shims | None = None,
                timeout: float = 120) -> subprocess.CompletedProcess:
    """``pipekit run slurm_tasks.TASK ARGS`` in *cwd*; stdout and stderr merged."""
    return subprocess.run(pipekit_cmd(task, *args), cwd=cwd, env=pipekit_env(shims),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=timeout)


def start_pipekit(cwd: Path, task: str, *args: str, shims: Shims | None = None) -> subprocess.Popen:
    return subprocess.Popen(pipekit_cmd(task, *args), cwd=cwd, env=pipekit_env(shims),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def find_ledger(out: Path, kind: str = "slurm") -> Path | None:
    found = sorted(out.glob(f"pipekit_{kind}_*/ledger.json"))
    return found[0] if found else None


def ledger_jobs(out: Path, kind: str = "slurm") -> dict[int, dict]:
    path = find_ledger(out, kind)
    if path is None:
        return {}
    try:
        data = json.loads(path.read_text())
    except ValueError:  # never happens with atomic writes; a test would catch that, too
        raise AssertionError(f"ledger {path} is not valid JSON") from None
    return {int(k): v for k, v in data["jobs"].items()}


def wait_for(predicate, timeout: float, what: str, interval: float = 0.2):
    """Wait until *predicate()* returns a true value, which is returned."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


def cancel_once(proc: subprocess.Popen, out: Path, job: int, started: Path, what: str,
                timeout: float = 120) -> tuple[str, str]:
    """
    Once *started* exists, ``scancel`` job *job* of the ledger (which Slurm must be running),
    and let the pipekit run *proc* carry on to its end: ``(the cancelled job's id, its output)``.
    """
    try:
        wait_for(started.exists, 60, what)
        job_id = ledger_jobs(out)[job]["job_id"]
        assert job_states([job_id]) == {job_id: "RUNNING"}
        slurm("scancel", job_id)
        stdout, _ = proc.communicate(timeout=timeout)
    finally:
        proc.kill()
    return job_id, stdout


def queue_ids(job_name_prefix: str = "pk_") -> list[str]:
    """Ids of jobs squeue still lists whose name starts with *job_name_prefix*."""
    out = slurm("squeue", "--noheader", "--array", "--states=all", "--format=%i|%j|%T").stdout
    return [line.split("|")[0] for line in out.splitlines()
            if line.split("|")[1].startswith(job_name_prefix)]


def job_states(ids: list[str]) -> dict[str, str]:
    """``{job id: Slurm state}`` for *ids* still in the queue."""
    if not ids:
        return {}
    arrays = sorted({i.split("_")[0] for i in ids})
    proc = slurm("squeue", "--noheader", "--array", "--states=all", "--format=%i|%T",
                 f"--jobs={','.join(arrays)}", check=False)
    if proc.returncode != 0 and "invalid job id" not in proc.stderr.lower():
        raise AssertionError(f"squeue failed: {proc.stderr.strip()}")
    states = dict(line.split("|", 1) for line in proc.stdout.splitlines() if "|" in line)
    return {i: states[i] for i in ids if i in states}
