"""
The demo analysis: toy "events" with a resonance on a falling background, histogrammed per
dataset in a branched workflow, merged, and plotted.

    GenerateEvents (LocalWorkflow, one branch per dataset)  -> data/events/events_<i>.json
      -> SelectAndHistogram (LocalWorkflow, branch i needs GenerateEvents branch i)
                                                          -> data/hists/hist_<i>.json
        -> MergeHistograms (one task, the collection of all histograms)
                                                          -> data/merged.json, data/summary.txt
          -> PlotMass (matplotlib figure through the formatter)
                                                          -> data/mass.png

Run it from the repository root (law.cfg there lists this module):

    pipekit run PlotMass --workers 2
    pipekit run PlotMass --print-status -1
"""

from __future__ import annotations

import math
import os
import random

import luigi

import pipekit as law

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")


class DemoTask(law.Task):
    """Common base: every task of the demo carries a version, so outputs of versions coexist."""

    version = luigi.Parameter(default="v1", description="version tag in the output paths")

    def local_target(self, *parts: str) -> law.LocalFileTarget:
        return law.LocalFileTarget(os.path.join(DATA, self.version, *parts))


class GenerateEvents(DemoTask, law.LocalWorkflow):
    """Draw toy invariant masses: a Breit-Wigner peak at 91 GeV on an exponential background."""

    n_datasets = luigi.IntParameter(default=8, description="number of datasets (branches)")
    n_events = luigi.IntParameter(default=20000, description="events per dataset")

    def create_branch_map(self):
        return {i: {"name": f"dataset_{i}", "seed": 1000 + i} for i in range(self.n_datasets)}

    def output(self):
        return self.local_target("events", f"events_{self.branch}.json")

    def run(self):
        rng = random.Random(self.branch_data["seed"])
        masses = []
        for _ in range(self.n_events):
            if rng.random() < 0.3:
                # Breit-Wigner via the inverse CDF of a Cauchy distribution
                m = 91.19 + 2.5 / 2 * math.tan(math.pi * (rng.random() - 0.5))
            else:
                m = 60 + rng.expovariate(1 / 25.0)
            masses.append(round(m, 3))
        self.output().dump({"dataset": self.branch_data["name"], "mass": masses}, formatter="json")


class SelectAndHistogram(DemoTask, law.LocalWorkflow):
    """Keep masses in a window and fill a histogram per dataset."""

    n_datasets = GenerateEvents.n_datasets
    n_events = GenerateEvents.n_events
    bins = luigi.IntParameter(default=60, description="number of histogram bins")
    window = law.CSVParameter(cls=luigi.FloatParameter, default=(60.0, 120.0), min_len=2, max_len=2,
                              description="mass window low,high in GeV")

    def create_branch_map(self):
        return GenerateEvents.req(self).branch_map

    def workflow_requires(self):
        return {"events": GenerateEvents.req(self)}

    def requires(self):
        return GenerateEvents.req(self)

    def output(self):
        return self.local_target("hists", f"hist_{self.branch}.json")

    def run(self):
        lo, hi = self.window
        width = (hi - lo) / self.bins
        counts = [0] * self.bins
        for m in self.input().load(formatter="json")["mass"]:
            if lo <= m < hi:
                counts[int((m - lo) / width)] += 1
        self.output().dump({"edges": [lo + i * width for i in range(self.bins + 1)], "counts": counts})


class MergeHistograms(DemoTask):
    """Sum the histograms of all datasets; write the sum and a short text summary."""

    n_datasets = GenerateEvents.n_datasets
    n_events = GenerateEvents.n_events
    bins = SelectAndHistogram.bins

    def requires(self):
        return SelectAndHistogram.req(self)

    def output(self):
        return {"hist": self.local_target("merged.json"), "summary": self.local_target("summary.txt")}

    def run(self):
        hists = [t.load() for t in self.input()["collection"].targets.values()]
        counts = [sum(col) for col in zip(*(h["counts"] for h in hists))]
        edges = hists[0]["edges"]
        peak = max(range(len(counts)), key=counts.__getitem__)
        self.output()["hist"].dump({"edges": edges, "counts": counts})
        self.output()["summary"].dump(
            f"datasets: {len(hists)}\nentries: {sum(counts)}\n"
            f"peak bin: {edges[peak]:.1f}-{edges[peak + 1]:.1f} GeV ({counts[peak]} entries)\n"
        )


class PlotMass(DemoTask):
    """Plot the merged mass spectrum to a PNG (the matplotlib formatter saves the figure)."""

    n_datasets = GenerateEvents.n_datasets
    n_events = GenerateEvents.n_events
    bins = SelectAndHistogram.bins

    def requires(self):
        return MergeHistograms.req(self)

    def output(self):
        return self.local_target("mass.png")

    def run(self):
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        hist = self.input()["hist"].load()
        edges, counts = hist["edges"], hist["counts"]
        fig, ax = plt.subplots(figsize=(6, 4))
        ax.stairs(counts, edges, fill=True, alpha=0.6, label=f"{self.n_datasets} datasets")
        ax.set_xlabel("invariant mass [GeV]")
        ax.set_ylabel("events / bin")
        ax.set_title("pipekit demo: toy resonance on a falling background")
        ax.legend()
        self.output().dump(fig, formatter="matplotlib", dpi=100)
