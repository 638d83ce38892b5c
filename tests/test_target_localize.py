"""localize_file_targets: a structure of targets localized at once, written all or nothing."""

from __future__ import annotations

import pytest

import pipekit as law
from pipekit.target.localize import localize_file_targets


def test_reading_keeps_the_structure_and_the_content(tmp_path):
    a = law.LocalFileTarget(tmp_path / "a.json")
    b = law.LocalFileTarget(tmp_path / "b.json")
    a.dump({"x": 1})
    b.dump({"x": 2})
    struct = {"first": a, "more": [b, "not a target"]}
    with localize_file_targets(struct, mode="r") as local:
        assert set(local) == {"first", "more"} and local["more"][1] == "not a target"
        assert local["first"].load() == {"x": 1} and local["more"][0].load() == {"x": 2}


def test_writing_moves_every_target_into_place_on_success(tmp_path):
    outs = [law.LocalFileTarget(tmp_path / "out" / f"{i}.txt") for i in range(3)]
    with localize_file_targets(outs, mode="w") as local:
        for i, t in enumerate(local):
            assert t.path != outs[i].path
            t.dump(str(i), formatter="text")
        assert not any(o.exists() for o in outs)  # nothing in place before the block ends
    assert [o.load(formatter="text") for o in outs] == ["0", "1", "2"]


def test_an_exception_discards_every_localized_output(tmp_path):
    outs = {k: law.LocalFileTarget(tmp_path / f"{k}.txt") for k in "ab"}
    with pytest.raises(RuntimeError):
        with localize_file_targets(outs, mode="w") as local:
            local["a"].dump("half", formatter="text")
            raise RuntimeError("failed in between")
    assert list(tmp_path.iterdir()) == []


def test_collections_are_localized_element_by_element(tmp_path):
    targets = {i: law.LocalFileTarget(tmp_path / f"c{i}.txt") for i in range(2)}
    coll = law.TargetCollection(targets)
    with localize_file_targets({"collection": coll}, mode="w") as local:
        localized = local["collection"]
        assert isinstance(localized, law.TargetCollection) and len(localized) == 2
        for i, t in localized.items():
            t.dump(f"element {i}", formatter="text")
    assert coll.exists() and targets[1].load(formatter="text") == "element 1"
