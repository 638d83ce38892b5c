"""
The CreateChars workflow of the talk on a Slurm cluster: the same branches as
examples/create_chars, run as Slurm jobs with ``--workflow slurm`` (or locally with
``--workflow local``), and the CreateAlphabet merge.

    pipekit run CreateChars --workflow slurm --tasks-per-job 13 --poll-interval 2s
    pipekit run CreateChars --workflow slurm --print-status 0
    pipekit run CreateAlphabet
"""

from __future__ import annotations

import os

import luigi

import pipekit as law

law.contrib.load("slurm")


class CreateChars(law.slurm.SlurmWorkflow, law.LocalWorkflow):
    """Branch i writes the i-th letter, and the Slurm job and host that wrote it."""

    def create_branch_map(self):
        return {i: chr(ord("a") + i) for i in range(26)}

    def output(self):
        # relative paths work in jobs, too: a job starts in the directory it was submitted from
        return law.LocalFileTarget(f"data/chars/char_{self.branch}.json")

    def run(self):
        self.output().dump(
            {
                "num": self.branch,
                "char": self.branch_data,
                "slurm_job": os.environ.get("SLURM_JOB_ID", ""),
                "host": os.uname().nodename,
            }
        )


class CreateAlphabet(law.Task):
    """Merge the 26 letters into data/alphabet.txt (runs where pipekit runs, not as a job)."""

    upper = luigi.BoolParameter(default=False, description="write capital letters")

    def requires(self):
        return CreateChars.req(self)

    def output(self):
        return law.LocalFileTarget("data/alphabet_upper.txt" if self.upper else "data/alphabet.txt")

    def run(self):
        collection = self.input()["collection"]
        chars = [t.load()["char"] for _, t in sorted(collection.targets.items())]
        text = "".join(chars)
        self.output().dump((text.upper() if self.upper else text) + "\n", formatter="text")
