"""
CreateChars, the workflow of the talk: one task class, 26 branches, one letter each; and
CreateAlphabet, a downstream task that merges the collection of all 26 outputs.

    pipekit run CreateChars --branch 0          # one branch: data/chars/char_0.json
    pipekit run CreateChars --print-status 0    # 1 of 26 present
    pipekit run CreateChars                     # the remaining 25 branches
    pipekit run CreateAlphabet                  # data/alphabet.txt: abcdefghijklmnopqrstuvwxyz
"""

from __future__ import annotations

import luigi

import pipekit as law


class CreateChars(law.LocalWorkflow):
    """Branch i writes the i-th letter of the alphabet to its own JSON file."""

    def create_branch_map(self):
        # the branch map: branch number -> what that branch works on
        return {i: chr(ord("a") + i) for i in range(26)}

    def output(self):
        return law.LocalFileTarget(f"data/chars/char_{self.branch}.json")

    def run(self):
        self.output().dump({"num": self.branch, "char": self.branch_data})


class CreateAlphabet(law.Task):
    """Merge the outputs of all CreateChars branches into one line of text."""

    upper = luigi.BoolParameter(default=False, description="write capital letters")

    def requires(self):
        # requiring the workflow (branch -1) means: all of its branches
        return CreateChars.req(self)

    def output(self):
        return law.LocalFileTarget("data/alphabet_upper.txt" if self.upper else "data/alphabet.txt")

    def run(self):
        collection = self.input()["collection"]
        chars = [target.load()["char"] for _, target in sorted(collection.targets.items())]
        text = "".join(chars)
        self.output().dump((text.upper() if self.upper else text) + "\n", formatter="text")
