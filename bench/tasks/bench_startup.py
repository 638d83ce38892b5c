"""
Task file shared by law and pipekit for the startup workloads (S1, S2): an analysis-like task
with a few parameters, asked for ``--help``. BENCH_IMPL=law imports law, anything else
``pipekit as law``.
"""

import os

import luigi

if os.environ.get("BENCH_IMPL") == "law":
    import law
else:
    import pipekit as law


class Selection(law.Task):
    """Selects events of one dataset."""

    dataset = luigi.Parameter(default="data_2018", description="dataset to process")
    version = luigi.Parameter(default="v1", description="output version")
    n_files = luigi.IntParameter(default=10, description="number of input files")
    dry = luigi.BoolParameter(description="only print what would be done")

    def output(self):
        return law.LocalFileTarget(os.path.join(os.environ.get("BENCH_OUT", "/tmp"), "sel.json"))

    def run(self):
        self.output().dump({"dataset": self.dataset})
