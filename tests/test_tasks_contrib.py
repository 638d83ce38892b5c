"""
law's contrib tasks (pipekit.tasks), run by luigi in this process: RunOnceTask,
TransferLocalFile and ForestMerge, whose merge results are checked for every input appearing
exactly once, for the intermediate files left behind, and for the work a re-run repeats.
"""

from __future__ import annotations

import os

import luigi
import pytest
from pipekit.tasks import ForestMerge, MergeTree, RunOnceTask, TransferLocalFile

import pipekit as law


def build(*tasks) -> bool:
    return luigi.build(list(tasks), local_scheduler=True, no_lock=True)


class Numbers(law.LocalWorkflow):
    """n branches, branch i writes the number i."""

    n = luigi.IntParameter()
    out = luigi.Parameter()

    def create_branch_map(self):
        return list(range(self.n))

    def output(self):
        return law.LocalFileTarget(os.path.join(self.out, "numbers", f"{self.branch}.json"))

    def run(self):
        self.output().dump({"values": [self.branch_data]})


class Collect(ForestMerge):
    """Merges the numbers into sorted lists; records every merge it does."""

    n = luigi.IntParameter()
    out = luigi.Parameter()
    factor = luigi.IntParameter(default=2)
    trees = luigi.IntParameter(default=1)

    merges: list[tuple[int, int, int]] = []  # (tree, depth, node) of each merge, in order
    fail_once: set[tuple[int, int]] = set()  # (depth, node) that fail on their first merge

    @property
    def merge_factor(self):
        return self.factor

    def merge_workflow_requires(self):
        return Numbers.req(self, _exclude=self.exclude_params_forest_merge)

    def merge_requires(self, start, end):
        return [
            Numbers.req(self, branch=b, _exclude=self.exclude_params_forest_merge)
            for b in range(start, end)
        ]

    def merge_output(self):
        targets = [
            law.LocalFileTarget(os.path.join(self.out, f"merged_{i}.json"))
            for i in range(self.trees)
        ]
        return targets if self.trees > 1 else targets[0]

    def merge(self, inputs, output):
        key = (self.tree_depth, self.branch)
        if key in self.fail_once:
            self.fail_once.discard(key)
            raise RuntimeError(f"merge of node {key} failed")
        Collect.merges.append((self.tree_index, self.tree_depth, self.branch))
        values = sorted(v for inp in inputs for v in inp.load()["values"])
        output.dump({"values": values})


@pytest.fixture(autouse=True)
def reset_merges():
    Collect.merges = []
    Collect.fail_once = set()


def leftover(out) -> list[str]:
    return sorted(p for p in os.listdir(out) if p != "numbers")


def test_merge_tree_levels_and_leaf_ranges():
    tree = MergeTree.build(10, 3)
    assert tree.sizes == (1, 2, 4) and tree.max_depth == 2
    assert [tree.leaf_range(2, i) for i in range(4)] == [(0, 3), (3, 6), (6, 9), (9, 10)]
    assert [tree.leaf_range(1, i) for i in range(2)] == [(0, 9), (9, 10)]
    assert tree.children(1, 0) == [0, 1, 2] and tree.children(1, 1) == [3]
    assert MergeTree.build(5, 0).sizes == (1,) and MergeTree.build(5, 9).leaf_range(0, 0) == (0, 5)


@pytest.mark.parametrize("n, factor", [(1, 2), (2, 2), (4, 2), (10, 3), (9, 3), (7, 0), (5, 10)])
def test_forest_merge_merges_every_input_exactly_once(tmp_path, n, factor):
    forest = Collect(n=n, out=str(tmp_path), factor=factor)
    assert build(forest)
    assert law.LocalFileTarget(tmp_path / "merged_0.json").load() == {"values": list(range(n))}
    assert leftover(tmp_path) == ["merged_0.json"]  # intermediate results were removed
    tree = MergeTree.build(n, factor)
    assert len(Collect.merges) == sum(tree.sizes)


def test_keep_nodes_keeps_the_intermediate_results(tmp_path):
    assert build(Collect(n=10, out=str(tmp_path), factor=3, keep_nodes=True))
    names = leftover(tmp_path)
    assert "merged_0.json" in names
    assert sorted(names) == sorted(
        ["merged_0.json"]
        + [f"merged_0.t0.d1.b{b}.json" for b in range(2)]
        + [f"merged_0.t0.d2.b{b}.json" for b in range(4)]
    )


def test_several_trees_split_the_inputs(tmp_path):
    assert build(Collect(n=7, out=str(tmp_path), trees=2, factor=2))
    assert law.LocalFileTarget(tmp_path / "merged_0.json").load() == {"values": [0, 1, 2, 3]}
    assert law.LocalFileTarget(tmp_path / "merged_1.json").load() == {"values": [4, 5, 6]}


def test_a_task_requiring_the_forest_gets_the_final_output(tmp_path):
    class Report(law.Task):
        def requires(self):
            return Collect(n=6, out=str(tmp_path), factor=2)

        def output(self):
            return law.LocalFileTarget(tmp_path / "report.txt")

        def run(self):
            self.output().dump(str(sum(self.input().load()["values"])), formatter="text")

    assert build(Report())
    assert (tmp_path / "report.txt").read_text() == "15"


def test_rerun_after_a_failed_node_repeats_only_what_is_missing(tmp_path):
    Collect.fail_once = {(1, 1)}  # second node of the middle level fails once
    forest = Collect(n=10, out=str(tmp_path), factor=3)
    assert not build(forest)
    first = list(Collect.merges)
    assert (0, 2, 0) in first and (0, 1, 0) in first and (0, 0, 0) not in first
    Collect.merges = []
    assert build(Collect(n=10, out=str(tmp_path), factor=3))
    # node (1, 0) consumed its inputs already; they are not merged again
    assert Collect.merges == [(0, 1, 1), (0, 0, 0)]
    assert law.LocalFileTarget(tmp_path / "merged_0.json").load() == {"values": list(range(10))}


class Once(RunOnceTask):
    runs: list[int] = []

    @RunOnceTask.complete_on_success
    def run(self):
        Once.runs.append(1)


def test_run_once_task_is_complete_after_running():
    task = Once()
    assert not task.complete()
    assert build(task)
    assert task.complete() and Once.runs == [1]
    assert build(task)
    assert Once.runs == [1]


class Upload(TransferLocalFile):
    dest = luigi.Parameter()

    def single_output(self):
        return law.LocalFileTarget(os.path.join(self.dest, "table.csv"))


def test_transfer_local_file_writes_the_file_or_its_replicas(tmp_path):
    src = tmp_path / "src.csv"
    src.write_text("a,b\n1,2\n")
    assert build(Upload(source_path=str(src), dest=str(tmp_path / "one")))
    assert (tmp_path / "one" / "table.csv").read_text() == "a,b\n1,2\n"
    assert build(Upload(source_path=str(src), dest=str(tmp_path / "many"), replicas=3))
    names = sorted(os.listdir(tmp_path / "many"))
    assert names == ["table.0.csv", "table.1.csv", "table.2.csv"]
    assert all((tmp_path / "many" / n).read_text() == "a,b\n1,2\n" for n in names)
