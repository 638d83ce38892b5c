"""
Helpers for the Grid Engine integration tests: start the real single-node cell of
``tests/infra/sge.sh`` (skip locally, fail in CI when it cannot start; stopped again at the end
of a local session that started it), PATH shims that log and exec the real qsub / qstat /
qacct / qdel (to count calls), and running ``pipekit run sge_tasks.TASK`` as a user does.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from slurm_helpers import HERE, ROOT, Shims, ledger_jobs

INFRA = ROOT / "tests" / "infra" / "sge.sh"
BASE = Path("/tmp/infra/sge")
COMMANDS = ("qsub", "qstat", "qacct", "qdel")
#: poll options for tests: a cycle every half second
FAST = ("--poll-interval", "0.5s")


def sge_env() -> dict[str, str]:
    """The client environment of the test cell (what ``. /tmp/infra/sge/env.sh`` sets)."""
    return {"SGE_ROOT": str(BASE / "root"), "SGE_CELL": "default", "SGE_QMASTER_PORT": "6444",
            "SGE_EXECD_PORT": "6445"}


def cell_running() -> bool:
    """Whether the test cell answers (qstat installed and its qmaster up)."""
    try:
        proc = subprocess.run(["qstat"], env=dict(os.environ, **sge_env()), capture_output=True,
                              timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return proc.returncode == 0


def infra(action: str) -> str | None:
    """``tests/infra/sge.sh ACTION``; None when it worked, else the reason."""
    if os.geteuid() != 0:
        return "tests/infra/sge.sh needs root (it runs sge_qmaster and sge_execd)"
    try:
        proc = subprocess.run([str(INFRA), action], capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"tests/infra/sge.sh {action} failed: {e}"
    if proc.returncode != 0:
        return f"tests/infra/sge.sh {action} failed: {proc.stderr.strip()[-500:]}"
    return None


def sge(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run a Grid Engine client command directly (not through the shims)."""
    return subprocess.run(list(args), env=dict(os.environ, **sge_env()), capture_output=True,
                          text=True, check=check, timeout=60)


def shims_for(directory: Path) -> Shims:
    return Shims(directory, COMMANDS)


def pipekit_env(shims: Shims | None = None) -> dict[str, str]:
    venv_bin = str(Path(sys.executable).parent)
    path = f"{venv_bin}:{os.environ.get('PATH', '/usr/bin:/bin')}"
    if shims is not None:
        path = f"{shims.dir}:{path}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LAW_", "PIPEKIT_", "SGE_"))}
    env.update(sge_env(), PATH=path, PYTHONPATH=str(HERE))
    return env


def pipekit_cmd(task: str, *args: str) -> list[str]:
    return [str(Path(sys.executable).parent / "pipekit"), "run", f"sge_tasks.{task}", *args]


def run_pipekit(cwd: Path, task: str, *args: str, shims: Shims | None = None,
                timeout: float = 150) -> subprocess.CompletedProcess:
    """``pipekit run sge_tasks.TASK ARGS`` in *cwd*; stdout and stderr merged."""
    return subprocess.run(pipekit_cmd(task, *args), cwd=cwd, env=pipekit_env(shims),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=timeout)


def start_pipekit(cwd: Path, task: str, *args: str, shims: Shims | None = None) -> subprocess.Popen:
    return subprocess.Popen(pipekit_cmd(task, *args), cwd=cwd, env=pipekit_env(shims),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def jobs(out: Path) -> dict[int, dict]:
    """The jobs of the Grid Engine ledger under *out*."""
    return ledger_jobs(out, "sge")


def task_states(job_ids: list[str]) -> dict[str, str]:
    """``{task id: qstat state}`` of *job_ids* still in the queue."""
    from pipekit.batch.sge_status import parse_qstat_xml

    tasks = parse_qstat_xml(sge("qstat", "-xml").stdout)
    return {t.job_id: t.state for t in tasks if t.job_id in job_ids}
