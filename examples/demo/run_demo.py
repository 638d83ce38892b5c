"""
``make demo``: run the demo analysis end to end and show what it produced.

Runs from the repository root, whose law.cfg lists ``examples.demo.analysis``:
indexes the tasks, shows the status tree before, runs ``PlotMass`` (a branched workflow, a
second workflow with per-branch requirements, a merge, a plot) with two workers, and shows the
status tree after, plus where the plot, the dependency graph and the run report are.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = os.path.join(ROOT, "examples", "demo", "data")


def pipekit(*args: str) -> None:
    exe = shutil.which("pipekit") or os.path.join(os.path.dirname(sys.executable), "pipekit")
    cmd = [exe, *args]
    print(f"\n$ pipekit {' '.join(args)}", flush=True)
    rc = subprocess.call(cmd, cwd=ROOT)
    if rc != 0:
        sys.exit(f"demo step failed with exit code {rc}: pipekit {' '.join(args)}")


def forget_earlier_runs() -> None:
    """Remove the local ledgers of earlier demo runs, so that the report shows this one only."""
    import glob

    for family in ("GenerateEvents", "SelectAndHistogram"):
        pattern = os.path.join(ROOT, ".law", "workflows", f"pipekit_local_{family}_*")
        for path in glob.glob(pattern):
            shutil.rmtree(path, ignore_errors=True)


def main() -> None:
    # record what made every output, so the status tree says which outputs are current
    # (docs/provenance.md); the same as [core] provenance: True in law.cfg
    os.environ.setdefault("LAW__core__provenance", "True")
    if os.path.isdir(DATA):
        shutil.rmtree(DATA)  # the demo always starts from nothing
    forget_earlier_runs()
    pipekit("index", "--verbose")
    pipekit("run", "PlotMass", "--print-status", "-1")
    pipekit("run", "PlotMass", "--workers", "2")
    pipekit("run", "PlotMass", "--print-status", "-1")
    graph = os.path.join(DATA, "v1", "deps.png")
    pipekit("graph", "PlotMass", "-o", graph)
    with open(os.path.join(DATA, "v1", "summary.txt")) as f:
        print("\nsummary.txt:\n" + f.read())
    report = os.path.join(DATA, "v1", "report.html")
    pipekit("report", "PlotMass", "-o", report, "--trace", os.path.join(DATA, "v1", "trace.tsv"))
    print(f"plot:             {os.path.join(DATA, 'v1', 'mass.png')}")
    print(f"dependency graph: {graph}")
    print(f"run report:       {report}")


if __name__ == "__main__":
    main()
