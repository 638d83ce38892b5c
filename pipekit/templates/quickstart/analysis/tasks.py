"""
A small pipekit analysis to start from (created by ``pipekit quickstart``).

- ``TimesTwo``: one task with one parameter; writes ``{"in": n, "out": 2 n}``.
- ``Square``: a workflow with one branch per number; each branch writes that number squared.
- ``SumSquares``: requires all branches of ``Square`` and writes their sum.

Outputs go to ``data/`` next to law.cfg, whichever directory you run from. Try::

    pipekit run SumSquares --print-status 1
    pipekit run SumSquares --workers 2
    pipekit run Square --branch 3 --print-output 0
"""

import os

import luigi

import pipekit as law  # the law API: an existing law analysis ports with this one line

DATA = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data")


class AnalysisTask(law.Task):
    """Base of this analysis' tasks: outputs go to data/<task family>/."""

    exclude_index = True

    def local_target(self, *parts):
        return law.LocalFileTarget(os.path.join(DATA, self.get_task_family(), *parts))


class TimesTwo(AnalysisTask):
    """Doubles a number."""

    n = luigi.IntParameter(default=5, description="the number to double")

    def output(self):
        return self.local_target(f"n{self.n}.json")

    def run(self):
        self.output().dump({"in": self.n, "out": self.n * 2})


class Square(AnalysisTask, law.LocalWorkflow):
    """Squares the numbers 1 to count, one branch per number."""

    count = luigi.IntParameter(default=10, description="how many numbers to square")

    def create_branch_map(self):
        return {i: i + 1 for i in range(self.count)}  # branch number -> the number to square

    def output(self):
        return self.local_target(f"count{self.count}", f"square_{self.branch}.json")

    def run(self):
        n = self.branch_data
        self.output().dump({"n": n, "square": n * n})


class SumSquares(AnalysisTask):
    """Adds up the squares of all branches of Square."""

    count = luigi.IntParameter(default=10, description="how many numbers to square and add")

    def requires(self):
        return Square.req(self)

    def output(self):
        return self.local_target(f"count{self.count}.json")

    def run(self):
        squares = [t.load()["square"] for t in self.input()["collection"].iter_targets()]
        self.output().dump({"count": self.count, "sum": sum(squares)})
        self.publish_message(f"sum of {len(squares)} squares: {sum(squares)}")
