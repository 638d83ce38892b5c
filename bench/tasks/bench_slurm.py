"""
Task file shared by law and pipekit for W4: a SlurmWorkflow whose branches each write one small
JSON file. BENCH_IMPL=law imports law, anything else ``pipekit as law``; both load the Slurm
contrib package the law way. Outputs and job files go below $BENCH_OUT as absolute paths.
"""

import os

import luigi

if os.environ.get("BENCH_IMPL") == "law":
    import law
else:
    import pipekit as law

law.contrib.load("slurm")

OUT = os.environ.get("BENCH_OUT", os.path.abspath("out"))


class SlurmBranches(law.slurm.SlurmWorkflow):
    """N branches, one per job, each writing one small JSON file."""

    n = luigi.IntParameter(default=200)

    def create_branch_map(self):
        return {i: {"index": i} for i in range(self.n)}

    def output(self):
        return law.LocalFileTarget(os.path.join(OUT, f"n{self.n}", f"branch_{self.branch}.json"))

    def slurm_output_directory(self):
        return law.LocalDirectoryTarget(os.path.join(OUT, "jobs"))

    def run(self):
        self.output().dump(self.branch_data, formatter="json")
