"""
Outputs on remote storage: CountEvents, a workflow whose 8 branches each write a histogram to
the XRootD server named in law.cfg, and MergeCounts, which reads them back and writes the sum
next to them.

    pipekit run CountEvents --branch 0           # one branch: root://.../counts/counts_0.json
    pipekit run CountEvents --print-status 0     # 1 of 8 present: one listing on the server
    pipekit run MergeCounts --workers 2          # the other 7 branches in two processes, the sum
    pipekit run MergeCounts --fetch-output 0,a,data   # a local copy of the result
"""

from __future__ import annotations

import json
import random

import pipekit as law

law.contrib.load("wlcg")  # as in law: WLCGFileTarget, configured by [wlcg_fs] in law.cfg

#: bin edges of the histograms (an energy in GeV, say)
EDGES = [0, 1, 2, 3, 4, 5, 6, 8, 10, 15, 20]


class CountEvents(law.LocalWorkflow):
    """Branch i "processes" file i of a dataset: it histograms 1000 energies."""

    def create_branch_map(self):
        return {i: f"events_{i}.root" for i in range(8)}

    def output(self):
        # a path below the base of [wlcg_fs]; nothing else changes from a local target
        return law.wlcg.WLCGFileTarget(f"/counts/counts_{self.branch}.json")

    def run(self):
        rnd = random.Random(self.branch)  # the same numbers on every run
        # energies above the last edge go into the last bin (overflow)
        energies = [min(rnd.expovariate(1 / 3.0), EDGES[-1] - 0.001) for _ in range(1000)]
        hist = [sum(lo <= e < hi for e in energies) for lo, hi in zip(EDGES, EDGES[1:])]
        # uploaded to a hidden temporary name, verified by checksum, renamed into place
        self.output().dump({"file": self.branch_data, "hist": hist})


class MergeCounts(law.Task):
    """Add up the histograms of all CountEvents branches."""

    def requires(self):
        return CountEvents.req(self)

    def output(self):
        return law.wlcg.WLCGFileTarget("/merged.json")

    def run(self):
        inputs = sorted(self.input()["collection"].targets.items())
        # load(): download and parse in one call (the format follows from the extension)
        hists = [target.load()["hist"] for _, target in inputs]
        total = [sum(column) for column in zip(*hists)]
        # localize("w"): a local file for code that wants a path (ROOT, numpy, matplotlib, ...),
        # uploaded when the block ends without an exception
        with self.output().localize("w") as tmp:
            with open(tmp.path, "w") as f:
                json.dump({"files": len(hists), "edges": EDGES, "hist": total}, f)
