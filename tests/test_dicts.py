"""pipekit.dicts: law.util's DotDict, ShorthandDict, InsertableDict and merge_dicts."""

from __future__ import annotations

import pytest

from pipekit.dicts import DotDict, InsertableDict, ShorthandDict, merge_dicts


def test_dotdict_items_are_attributes_and_wrap_converts_nested_dicts():
    d = DotDict(a=1)
    d.b = 2
    assert d.a == 1 and d["b"] == 2
    with pytest.raises(AttributeError, match="no attribute 'c'"):
        d.c  # noqa: B018
    w = DotDict.wrap({"x": {"y": [{"z": 3}]}})
    assert w.x.y[0].z == 3 and isinstance(w.copy(), DotDict)


def test_shorthand_dict_has_its_attributes_with_fresh_defaults():
    class Job(ShorthandDict):
        attributes = {"status": "new", "codes": []}

    a, b = Job(status="done"), Job()
    a.codes.append(1)
    assert a.status == "done" and b.status == "new" and b.codes == []
    b.status = "failed"
    assert b["status"] == "failed" and list(b) == ["status", "codes"]


def test_insertable_dict_inserts_before_after_and_moves_existing_keys():
    d = InsertableDict(foo=1, bar=2)
    d.insert_before("bar", "new", 9)
    assert list(d.items()) == [("foo", 1), ("new", 9), ("bar", 2)]
    d.insert_after("bar", "foo", 0)  # an existing key moves
    assert list(d) == ["new", "bar", "foo"]
    d.prepend({"p": 1, "q": 2})
    d.append("z", 5)
    d.insert_after("missing", "end", 1)  # unknown anchor: at the end
    assert list(d) == ["p", "q", "new", "bar", "foo", "z", "end"]


def test_merge_dicts_shallow_deep_and_inplace_without_changing_the_inputs():
    a, b = {"x": {"p": 1}, "y": 1}, {"x": {"q": 2}, "z": 3}
    assert merge_dicts(a, b) == {"x": {"q": 2}, "y": 1, "z": 3}
    deep = merge_dicts(a, b, deep=True)
    assert deep == {"x": {"p": 1, "q": 2}, "y": 1, "z": 3}
    assert a == {"x": {"p": 1}, "y": 1}  # the caller's dicts are untouched
    assert merge_dicts(a, None, {"y": 5}, inplace=True) is a and a["y"] == 5
    assert type(merge_dicts(DotDict(a=1), {"b": 2})) is DotDict
    with pytest.raises(ValueError):
        merge_dicts()
