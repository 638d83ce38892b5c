"""pipekit.structure: nested structures and sequences, with law.util's names and keywords."""

from __future__ import annotations

import pytest

from pipekit import structure as s


def test_flatten_keeps_containers_whose_type_is_switched_off():
    data = {"a": [1, (2, 3)], "b": {"c": 4}}
    assert s.flatten(data) == [1, 2, 3, 4]
    assert s.flatten(data, flatten_tuple=False) == [1, (2, 3), 4]
    assert s.flatten(data, flatten_dict=False) == [data]


def test_map_struct_options_and_laws_defaults():
    from pipekit import util

    data = {"a": (1, 2), "b": [3]}
    assert s.map_struct(lambda x: x * 10, data) == {"a": (10, 20), "b": [30]}
    # law.util's defaults: a tuple is a leaf
    assert util.map_struct(lambda x: x * 10, data) == {"a": (1, 2) * 10, "b": [30]}
    assert s.map_struct(len, [[1, 2], [3]], map_list=1) == [2, 1]  # a number is a depth
    assert s.map_struct(str, [1, "x"], cls=int) == [1, "x"]  # cls: only struct itself


def test_mask_struct_removes_or_replaces_masked_values():
    data = {"a": 1, "b": [2, 3], "c": 4}
    assert s.mask_struct({"a": False, "b": [True, False]}, data) == {"b": [2], "c": 4}
    assert s.mask_struct({"a": False}, data, keep_missing=False) is s.no_value
    assert s.mask_struct([True, False], [1, 2], replace=0) == [1, 0]


def test_make_helpers_and_unique():
    assert s.make_list((1, 2)) == [1, 2] and s.make_list((1, 2), cast=False) == [(1, 2)]
    assert s.make_set([1, 1, 2]) == {1, 2} and s.make_tuple("ab") == ("ab",)
    assert s.make_unique([3, 1, 3, 2, 1]) == [3, 1, 2] and s.make_unique((1, 1)) == (1,)
    with pytest.raises(TypeError, match="needs a list"):
        s.make_unique(5)


def test_iter_chunks_of_lists_ranges_ints_and_generators_as_law():
    assert list(s.iter_chunks([1, 2, 3], 2)) == [[1, 2], [3]]
    assert list(s.iter_chunks(5, 2)) == [[0, 1], [2, 3], [4]]
    assert list(s.iter_chunks((i for i in range(3)), 0)) == [[0, 1, 2]]
    assert list(s.iter_chunks("abcde", 2)) == ["ab", "cd", "e"]


def test_chunk_slice_ranges_covers_a_global_slice():
    assert s.chunk_slice_ranges([3, 4, 5], 2, 8) == [(2, 3), (0, 4), (0, 1)]
    assert s.chunk_slice_ranges([[1, 2], [3]], 0, -1) == [(0, 2), None]
    with pytest.raises(ValueError, match="do not fit"):
        s.chunk_slice_ranges([2], 0, 5)


def test_unzip_and_is_nested():
    assert s.unzip([(1, "a"), (2, "b")]) == ([1, 2], ["a", "b"])
    assert s.unzip([(1, 2), (3,)], fill_none=True) == ([1, 3], [2, None])
    with pytest.raises(ValueError, match="has 1 items"):
        s.unzip([(1, 2), (3,)])
    assert s.is_nested([[1], (2,)]) and not s.is_nested([1, [2]])


def test_map_verbose_reports_first_every_nth_and_last(capsys):
    assert s.map_verbose(lambda x: x * 2, range(7), msg="item {}", every=3) == [0, 2, 4, 6, 8, 10, 12]
    assert capsys.readouterr().out.split("\n")[:-1] == ["item 0", "item 2", "item 5", "item 6"]


def test_join_generators_passes_sent_values_to_the_generator_that_yielded():
    def gen(name):
        got = yield f"{name}1"
        yield f"{name}:{got}"

    joined = s.join_generators(gen("a"), gen("b"))
    assert next(joined) == "a1" and joined.send("x") == "a:x"
    assert next(joined) == "b1" and joined.send("y") == "b:y"
    with pytest.raises(StopIteration):
        next(joined)
