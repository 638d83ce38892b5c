"""
Task file for W7: an ARCWorkflow whose branches each write one small JSON file (pipekit only:
law's ARC workflow needs grid storage for its job outputs, which the test grid does not
provide for it). Outputs go below $BENCH_OUT, a directory the CE's jobs (user "nobody") can
write.
"""

import os

import luigi

import pipekit as law

law.contrib.load("arc")

OUT = os.environ.get("BENCH_OUT", os.path.abspath("out"))


class ArcBranches(law.arc.ARCWorkflow, law.LocalWorkflow):
    """N branches, one per job, each writing one small JSON file."""

    n = luigi.IntParameter(default=20)

    def create_branch_map(self):
        return {i: {"index": i} for i in range(self.n)}

    def output(self):
        return law.LocalFileTarget(os.path.join(OUT, f"n{self.n}", f"branch_{self.branch}.json"))

    def run(self):
        self.output().dump({"index": self.branch, "uid": os.getuid()}, formatter="json")
