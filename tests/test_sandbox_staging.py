"""
Staging a sandboxed task's targets: which leaves are staged (hooks and masks), where they go,
how the inside sees them, and how staged outputs reach their real targets.
"""

from __future__ import annotations

import os
import stat

import pytest

import pipekit as law
from pipekit.sandbox.staging import StageArea, iter_target_leaves, read_manifest, staged_struct


def files(*names):
    return [law.LocalFileTarget(f"data/{n}") for n in names]


class Producer(law.Task):
    def output(self):
        return {
            "table": law.LocalFileTarget("data/table.txt"),
            "pieces": law.SiblingFileCollection(files("p0.txt", "p1.txt")),
            "dir": law.LocalDirectoryTarget("data/tree"),
        }


class Consumer(law.SandboxTask):
    sandbox = "docker::img"

    def requires(self):
        return Producer()

    def output(self):
        return {
            "result": law.LocalFileTarget("out/result.txt"),
            "skipped": law.LocalFileTarget("out/skip.txt"),
            "plots": law.LocalDirectoryTarget("out/plots"),
        }

    def sandbox_stagein(self, inputs):
        return {"table": True, "pieces": True, "dir": True}

    def sandbox_stageout(self, outputs):
        return {"result": True, "plots": True}  # "skipped" is not staged


@pytest.fixture
def produced(home):
    work = home.parent / "work"
    (work / "data" / "tree" / "sub").mkdir(parents=True)
    (work / "data" / "tree" / "sub" / "leaf.txt").write_text("leaf")
    for name in ("table.txt", "p0.txt", "p1.txt"):
        (work / "data" / name).write_text(name)
    return work


def test_leaves_are_walked_in_a_fixed_order_with_masks_and_collections_opened(home):
    struct = Producer().output()
    leaves = list(iter_target_leaves(struct, {"pieces": True}))
    assert [os.path.basename(t.path) for t, _ in leaves] == [
        "table.txt",
        "p0.txt",
        "p1.txt",
        "tree",
    ]
    assert [sel for _, sel in leaves] == [False, True, True, False]
    assert all(sel for _, sel in iter_target_leaves(struct, True))
    assert not any(sel for _, sel in iter_target_leaves(struct, False))


def test_inputs_are_hard_linked_in_and_seen_inside_by_position(produced):
    task = Consumer()
    stage = StageArea(task)
    try:
        stage.prepare()
        manifest = read_manifest(stage.manifest_path)
        assert manifest["task_id"] == task.task_id
        table, p0, p1, tree = manifest["inputs"]
        assert os.stat(table).st_ino == os.stat(produced / "data" / "table.txt").st_ino
        assert open(p1).read() == "p1.txt"
        assert open(os.path.join(tree, "sub", "leaf.txt")).read() == "leaf"

        inside = staged_struct(task.input(), manifest["inputs"])
        assert inside["table"].path == table
        assert isinstance(inside["pieces"], law.SiblingFileCollection)
        assert [t.path for t in inside["pieces"].iter_targets()] == [p0, p1]
        assert inside["pieces"].exists() and isinstance(inside["dir"], law.LocalDirectoryTarget)
    finally:
        stage.cleanup()
    assert not os.path.exists(stage.root)


def test_staged_outputs_are_moved_to_their_targets_and_missing_ones_reported(produced):
    task = Consumer()
    stage = StageArea(task)
    try:
        stage.prepare()
        outputs = read_manifest(stage.manifest_path)["outputs"]
        assert outputs[1] is None  # not staged: the sandbox writes (or not) the real path itself
        inside = staged_struct(task.output(), outputs)
        inside["result"].dump("the result", formatter="text")
        assert stage.stage_out() == [str(produced / "out" / "plots")]
        assert (produced / "out" / "result.txt").read_text() == "the result"
        assert not (produced / "out" / "skip.txt").exists()
    finally:
        stage.cleanup()


def test_inputs_are_copied_and_readable_when_the_sandbox_runs_as_another_user(produced):
    (produced / "data" / "table.txt").chmod(0o600)
    stage = StageArea(Consumer(), other_user=True)
    try:
        stage.prepare()
        table = read_manifest(stage.manifest_path)["inputs"][0]
        assert os.stat(table).st_ino != os.stat(produced / "data" / "table.txt").st_ino
        assert os.stat(table).st_mode & stat.S_IROTH
        assert stat.S_IMODE(os.stat(produced / "data" / "table.txt").st_mode) == 0o600
        assert stat.S_IMODE(os.stat(stage.out_dir).st_mode) == 0o777
    finally:
        stage.cleanup()
