"""
The 50-branch Grid Engine workflow of the closing note, on the real cell of
``tests/infra/sge.sh`` (root needed; started when it is not running, and then stopped again): 50 branches in 10
jobs (``--tasks-per-job 5``), polling every *poll* seconds. Reports the wall time of
``pipekit run`` and how often it called qsub, qstat, qacct and qdel (PATH shims that log each
call and exec the real command). pipekit only: law has no Grid Engine backend.

    .venv/bin/python bench/sge_workflow.py [--branches 50] [--tasks-per-job 5] [--poll 0.5s] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

__all__ = ["main"]

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "tests" / "integration"))


def run_once(branches: int, tasks_per_job: int, poll: str) -> dict[str, float]:
    import sge_helpers

    work = Path(tempfile.mkdtemp(prefix="sge-bench-", dir=HERE))
    try:
        shims = sge_helpers.shims_for(work / "shims")
        out = work / "out"
        t0 = time.perf_counter()
        proc = sge_helpers.run_pipekit(work, "SgeChars", "--out", str(out), "--n", str(branches),
                                       "--tasks-per-job", str(tasks_per_job), "--poll-interval",
                                       poll, shims=shims, timeout=600)
        wall = time.perf_counter() - t0
        if proc.returncode != 0:
            raise SystemExit(f"pipekit run failed:\n{proc.stdout[-2000:]}")
        row = {"wall": wall}
        row.update({name: len(shims.calls(name)) for name in sge_helpers.COMMANDS})
        return row
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--branches", type=int, default=50)
    parser.add_argument("--tasks-per-job", type=int, default=5)
    parser.add_argument("--poll", default="0.5s")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)

    import sge_helpers

    started = not sge_helpers.cell_running()
    if started:
        reason = sge_helpers.infra("start")
        if reason:
            print(reason, file=sys.stderr)
            return 1
    os.chdir(ROOT)
    try:
        rows = [run_once(args.branches, args.tasks_per_job, args.poll) for _ in range(args.repeat)]
    finally:
        if started:  # leave the machine as it was found
            sge_helpers.infra("stop")
    jobs = -(-args.branches // args.tasks_per_job)
    print(f"Grid Engine: {args.branches} branches in {jobs} jobs, poll {args.poll}, "
          f"{args.repeat} run(s)")
    print("run  wall_s  qsub  qstat  qacct  qdel")
    for i, r in enumerate(rows, 1):
        print(f"{i:>3}  {r['wall']:6.1f}  {r['qsub']:>4}  {r['qstat']:>5}  {r['qacct']:>5}  {r['qdel']:>4}")
    print(f"median wall {statistics.median(r['wall'] for r in rows):.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
