"""
How long pipekit takes to prepare one large submission: the job specs (one JSON file per job)
and the batch files, for Slurm and HTCondor, without submitting anything. pipekit only (law has
no comparable step: it writes one job file per job and submits them one by one).

    .venv/bin/python bench/prepare_submission.py [--jobs 10000] [--repeat 4] [--fsync-ab]

``--fsync-ab`` also times the same preparation with an ``fsync`` per spec file (what pipekit
did before it dropped it), interleaved run by run so that disk contention from other processes
hits both alike. Files go to a temporary directory under ``bench/work``, removed at the end
(about 40 MB per run of 10 000 jobs).
"""

from __future__ import annotations

import argparse
import importlib
import os
import shutil
import statistics
import sys
import tempfile
import textwrap
import time

__all__ = ["main"]

HERE = os.path.dirname(os.path.abspath(__file__))

TASKS = '''
import luigi
import pipekit as law

law.contrib.load("slurm")
law.contrib.load("htcondor")


class Big(law.slurm.SlurmWorkflow, law.htcondor.HTCondorWorkflow, law.LocalWorkflow):
    n = luigi.IntParameter(default=10000)

    def create_branch_map(self):
        return list(range(self.n))

    def output(self):
        return law.LocalFileTarget(f"data/out_{self.branch}.json")
'''


def prepare_once(module: object, workflow: str, n: int, tag: str) -> float:
    """Seconds to write the specs and batch files of one submission of *n* one-branch jobs."""
    proxy = module.Big(n=n, workflow=workflow).workflow_proxy  # type: ignore[attr-defined]
    plan = proxy.new_plan(tag, list(range(n)))
    branches = {i: [i] for i in range(n)}
    os.sync()  # start every run with no dirty pages of the previous one
    t0 = time.perf_counter()
    proxy.prepare_submission(plan, branches, {})
    # removed only at the end: on a disk mounted with `discard`, deleting 10 000 files slows
    # down the file creation of the next run
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=10000)
    parser.add_argument("--repeat", type=int, default=4)
    parser.add_argument("--fsync-ab", action="store_true",
                        help="also time it with one fsync per spec file, interleaved")
    args = parser.parse_args(argv)
    os.makedirs(os.path.join(HERE, "work"), exist_ok=True)
    work = tempfile.mkdtemp(prefix="prepare_", dir=os.path.join(HERE, "work"))
    cwd = os.getcwd()
    try:
        os.chdir(work)
        with open("prepare_tasks.py", "w") as f:
            f.write(textwrap.dedent(TASKS))
        sys.path.insert(0, work)
        module = importlib.import_module("prepare_tasks")
        from pipekit.job import jsonfile, spec

        variants = [False, True] if args.fsync_ab else [False]
        times: dict[tuple[str, bool], list[float]] = {}
        for r in range(args.repeat):
            for workflow in ("slurm", "htcondor"):
                for durable in variants:
                    # JobSpec.dump writes with durable=False; force it for the "before" runs
                    spec.write_json_atomic = (
                        lambda p, d, indent=1, durable=False, _f=durable:
                        jsonfile.write_json_atomic(p, d, indent, durable=durable or _f))
                    seconds = prepare_once(module, workflow, args.jobs, f"{workflow}{r}{durable}")
                    times.setdefault((workflow, durable), []).append(seconds)
        spec.write_json_atomic = jsonfile.write_json_atomic
        for (workflow, durable), ts in sorted(times.items()):
            med = statistics.median(ts)
            print(f"{workflow:8s} {'fsync per spec' if durable else 'no fsync      '}  "
                  f"{args.jobs} jobs: median {med:6.2f} s ({1000 * med / args.jobs:.3f} ms/job), "
                  f"min {min(ts):5.2f} s, runs {', '.join(f'{t:.2f}' for t in ts)}")
    finally:
        os.chdir(cwd)
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
