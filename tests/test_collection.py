"""Tests for pipekit.target.collection: target collections, thresholds and batched existence."""

from __future__ import annotations

import contextlib
import os

import luigi
import luigi.task
import pytest

from pipekit.target.collection import (
    FileCollection,
    NestedSiblingFileCollection,
    SiblingFileCollection,
    TargetCollection,
)
from pipekit.target.local import LocalDirectoryTarget, LocalFileTarget


@pytest.fixture
def files(tmp_path):
    """Five file targets out/0.txt .. out/4.txt of which the first three exist."""
    targets = [LocalFileTarget(tmp_path / "out" / f"{i}.txt") for i in range(5)]
    for t in targets[:3]:
        t.touch()
    return targets


class FsCalls:
    """Counts directory listings and stats below one directory."""

    def __init__(self, root):
        self.root = str(root)
        self.listings: list[str] = []
        self.stats: list[str] = []

    def reset(self) -> None:
        self.listings.clear()
        self.stats.clear()


@pytest.fixture
def fs_calls(tmp_path, monkeypatch):
    calls = FsCalls(tmp_path)

    def counting(func, log):
        def wrapper(path=".", *args, **kwargs):
            if str(os.fspath(path) if not isinstance(path, int) else "").startswith(calls.root):
                log.append(str(path))
            return func(path, *args, **kwargs)

        return wrapper

    monkeypatch.setattr(os, "listdir", counting(os.listdir, calls.listings))
    monkeypatch.setattr(os, "scandir", counting(os.scandir, calls.listings))
    monkeypatch.setattr(os, "stat", counting(os.stat, calls.stats))
    monkeypatch.setattr(os, "lstat", counting(os.lstat, calls.stats))
    return calls


# -- container API --------------------------------------------------------------------------------


def test_list_collection_behaves_like_a_sequence_of_targets(files):
    c = TargetCollection(files)

    assert len(c) == 5
    assert c[1] is files[1]
    assert c.keys() == [0, 1, 2, 3, 4]
    assert c.values() == files
    assert c.items()[2] == (2, files[2])
    assert 4 in c and 5 not in c and "x" not in c
    assert c.first_target is files[0]
    assert c.random_target() in files


def test_dict_collection_behaves_like_a_mapping_of_targets(files):
    c = TargetCollection({"a": files[0], "b": files[1]})

    assert c["a"] is files[0]
    assert c.keys() == ["a", "b"]
    assert "b" in c and "z" not in c
    with pytest.raises(KeyError):
        c["z"]


def test_collection_needs_a_list_or_dict():
    with pytest.raises(TypeError, match="list or dict"):
        TargetCollection("out/0.txt")


def test_collection_is_not_iterable():
    with pytest.raises(TypeError):
        iter(TargetCollection([]))


def test_luigi_flatten_treats_a_collection_as_one_target(files):
    c = SiblingFileCollection(files)

    assert luigi.task.flatten(c) == [c]
    assert luigi.task.flatten({"coll": c, "single": [files[0]]}) == [c, files[0]]
    pair = [TargetCollection(files), TargetCollection({"a": files[0]})]
    assert luigi.task.flatten(pair) == pair


def test_luigi_task_with_a_collection_output_is_complete_by_threshold(files):
    class Produce(luigi.Task):
        threshold = luigi.FloatParameter()

        def output(self):
            return SiblingFileCollection(files, threshold=self.threshold)

    assert Produce(threshold=0.6).complete()
    assert not Produce(threshold=1.0).complete()


# -- existence ------------------------------------------------------------------------------------


def test_default_threshold_needs_every_element(files):
    assert not TargetCollection(files).exists()
    assert TargetCollection(files[:3]).exists()


@pytest.mark.parametrize(
    "threshold, exists",
    [(0.6, True), (0.61, False), (0.0, True), (3, True), (4, False), (1, False)],
)
def test_threshold_is_a_fraction_up_to_one_and_a_count_above(files, threshold, exists):
    assert TargetCollection(files, threshold=threshold).exists() is exists


def test_count_and_iteration_over_existing_and_missing(files):
    c = TargetCollection(files)

    assert c.count() == 3
    assert c.count(existing=False) == 2
    assert c.count(keys=True) == (3, [0, 1, 2])
    assert c.count(existing=False, keys=True) == (2, [3, 4])
    assert list(c.iter_existing()) == files[:3]
    assert list(c.iter_missing()) == files[3:]
    assert list(c.iter_missing(keys=True)) == [(3, files[3]), (4, files[4])]
    assert c.status_text() == "absent (3/5)"
    assert TargetCollection(files[:3]).status_text() == "existent (3/3)"


def test_nested_element_exists_only_when_all_its_targets_exist(files):
    c = TargetCollection(
        {
            "pair_ok": [files[0], files[1]],
            "pair_half": {"x": files[2], "y": files[3]},
            "single": files[4],
            "coll": TargetCollection([files[0], files[2]]),
        }
    )

    assert set(dict(c.iter_existing(keys=True))) == {"pair_ok", "coll"}
    assert set(dict(c.iter_missing(keys=True))) == {"pair_half", "single"}
    assert list(c.iter_targets()) == [
        files[0],
        files[1],
        files[2],
        files[3],
        files[4],
        files[0],
        files[2],
    ]


def test_existence_reflects_changes_on_disk(files):
    c = SiblingFileCollection(files)
    assert not c.exists()

    for t in files[3:]:
        t.touch()
    assert c.exists()

    files[0].remove()
    assert c.count() == 4


def test_empty_collection_exists():
    assert TargetCollection([]).exists()
    assert TargetCollection({}).count() == 0


# -- batched existence checks ---------------------------------------------------------------------


def test_listing_once_per_check_for_sibling_collection(files, fs_calls):
    c = SiblingFileCollection(files)

    for check in (
        c.exists,
        c.count,
        lambda: list(c.iter_missing()),
        lambda: list(c.iter_existing()),
        c.status_text,
    ):
        fs_calls.reset()
        check()
        assert len(fs_calls.listings) == 1, check
        assert fs_calls.stats == []


def test_sibling_collection_with_a_single_target_still_lists(files, fs_calls):
    c = SiblingFileCollection([files[0]])

    assert c.exists()
    assert len(fs_calls.listings) == 1
    assert fs_calls.stats == []


def test_sibling_collection_in_missing_directory_is_absent_after_one_attempt(tmp_path, fs_calls):
    c = SiblingFileCollection([LocalFileTarget(tmp_path / "nowhere" / f"{i}") for i in range(50)])

    assert c.count() == 0
    assert len(fs_calls.listings) == 1


def test_plain_collection_batches_targets_sharing_a_directory(files, fs_calls):
    c = TargetCollection({f"k{i}": t for i, t in enumerate(files)})

    assert c.count() == 3
    assert len(fs_calls.listings) == 1
    assert fs_calls.stats == []


def test_listing_once_per_parent_directory_for_nested_sibling_collection(tmp_path, fs_calls):
    targets = [LocalFileTarget(tmp_path / d / f"{i}.root") for d in ("a", "b") for i in range(4)]
    targets.append(LocalFileTarget(tmp_path / "c" / "only.root"))
    for t in targets[::2]:
        t.touch()
    c = NestedSiblingFileCollection(targets)

    fs_calls.reset()
    assert c.count() == 5

    assert sorted(fs_calls.listings) == [str(tmp_path / d) for d in ("a", "b", "c")]
    assert fs_calls.stats == []
    assert sorted(sc.dir.path for sc in c.collections) == [
        str(tmp_path / d) for d in ("a", "b", "c")
    ]


# -- sibling collections --------------------------------------------------------------------------


def test_sibling_collection_knows_its_directory(files, tmp_path):
    c = SiblingFileCollection(files)

    assert isinstance(c.dir, LocalDirectoryTarget)
    assert c.dir.path == str(tmp_path / "out")


def test_sibling_collection_refuses_targets_of_other_directories(tmp_path):
    with pytest.raises(ValueError, match="is not in directory"):
        SiblingFileCollection(
            [LocalFileTarget(tmp_path / "a" / "1"), LocalFileTarget(tmp_path / "b" / "1")]
        )


def test_sibling_collection_needs_targets_or_a_directory(tmp_path):
    with pytest.raises(ValueError, match="explicit dir"):
        SiblingFileCollection([])

    c = SiblingFileCollection([], dir=str(tmp_path / "empty"))
    assert c.dir.path == str(tmp_path / "empty")
    assert c.exists()


def test_sibling_collection_from_directory_holds_its_files(files, tmp_path):
    (tmp_path / "out" / "subdir").mkdir()

    c = SiblingFileCollection.from_directory(str(tmp_path / "out"))

    assert sorted(t.basename for t in c.values()) == ["0.txt", "1.txt", "2.txt"]
    assert c.exists()


def test_sibling_collection_from_directory_leaves_out_the_provenance_file(files, tmp_path):
    (tmp_path / "out" / ".pipekit-provenance").write_text("{}")

    c = SiblingFileCollection.from_directory(str(tmp_path / "out"))

    assert sorted(t.basename for t in c.values()) == ["0.txt", "1.txt", "2.txt"]


# -- bulk operations ------------------------------------------------------------------------------


def test_remove_removes_every_target(files, tmp_path):
    TargetCollection({"a": files[0], "b": [files[1], files[2]]}).remove()

    assert os.listdir(tmp_path / "out") == []


def test_uri_and_map(files):
    c = TargetCollection(files[:2], threshold=0.5)

    assert c.uri() == ["file://" + files[0].path, "file://" + files[1].path]
    mapped = c.map(lambda t: t.sibling("x_" + t.basename, "f"))
    assert isinstance(mapped, TargetCollection) and mapped.threshold == 0.5
    assert [t.basename for t in mapped.values()] == ["x_0.txt", "x_1.txt"]


def test_file_collection_localize_writes_all_targets_on_success(tmp_path):
    c = FileCollection(
        {"a": LocalFileTarget(tmp_path / "a.json"), "b": [LocalFileTarget(tmp_path / "b.txt")]}
    )

    with c.localize("w") as local:
        local["a"].dump({"v": 1})
        local["b"][0].dump("text")
        assert not c.exists()

    assert c.exists()
    assert c["a"].load() == {"v": 1}


def test_file_collection_localize_writes_nothing_on_failure(tmp_path):
    c = FileCollection([LocalFileTarget(tmp_path / "a.txt"), LocalFileTarget(tmp_path / "b.txt")])

    with contextlib.suppress(RuntimeError):
        with c.localize("w") as local:
            local[0].dump("a")
            local[1].dump("b")
            raise RuntimeError

    assert os.listdir(tmp_path) == []
