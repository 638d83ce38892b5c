"""
Task file shared by law and pipekit for the local workloads (W1, W2, W3, W6).

BENCH_IMPL=law imports law, anything else ``pipekit as law``. Outputs go below $BENCH_OUT as
absolute paths (law resolves relative paths against /).
"""

import os

import luigi

if os.environ.get("BENCH_IMPL") == "law":
    import law
else:
    import pipekit as law

OUT = os.environ.get("BENCH_OUT", os.path.abspath("out"))


class JSONBranches(law.LocalWorkflow):
    """N branches, each writing one small JSON file."""

    n = luigi.IntParameter(default=2000)

    def create_branch_map(self):
        return {i: {"index": i, "square": i * i} for i in range(self.n)}

    def output(self):
        return law.LocalFileTarget(os.path.join(OUT, f"n{self.n}", f"branch_{self.branch}.json"))

    def run(self):
        self.output().dump(self.branch_data, formatter="json")
