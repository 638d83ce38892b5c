"""
TimesTwo, the first task of the talk pipekit grew from, in two versions.

``TimesTwoVerbose`` opens its output and writes JSON by hand; ``TimesTwo`` lets the target's
formatter do it (``dump`` / ``load``, chosen by the file extension). Both write
``{"in": n, "out": 2 n}`` to a JSON file below ``data/`` in the directory you run from, and both
write atomically: a killed task never leaves a half-written file.

    pipekit run TimesTwo --n 5
    pipekit run TimesTwo --n 5 --print-status 0
    pipekit run TimesTwo --n 5 --remove-output 0,a
    pipekit run Sum --numbers 1,2,3
"""

from __future__ import annotations

import json

import luigi

import pipekit as law


class TimesTwoVerbose(law.Task):
    """Double a number, writing the JSON output by hand."""

    n = luigi.IntParameter(description="the number to double")

    def output(self):
        return law.LocalFileTarget(f"data/verbose/n{self.n}.json")

    def run(self):
        result = {"in": self.n, "out": self.n * 2}
        # open("w") writes to a temporary file that replaces the output only when the block ends
        with self.output().open("w") as f:
            json.dump(result, f)


class TimesTwo(law.Task):
    """Double a number; the output's formatter writes the JSON."""

    n = luigi.IntParameter(description="the number to double")

    def output(self):
        return law.LocalFileTarget(f"data/n{self.n}.json")

    def run(self):
        self.output().dump({"in": self.n, "out": self.n * 2})


class Sum(law.Task):
    """Require one TimesTwo per number and add up their results."""

    numbers = law.CSVParameter(
        cls=luigi.IntParameter, default=(1, 2, 3), description="numbers to double and add"
    )

    def requires(self):
        return [TimesTwo(n=n) for n in self.numbers]

    def output(self):
        return law.LocalFileTarget(f"data/sum_{'_'.join(map(str, self.numbers))}.json")

    def run(self):
        outs = [inp.load()["out"] for inp in self.input()]
        self.output().dump({"numbers": list(self.numbers), "sum": sum(outs)})
