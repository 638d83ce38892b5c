"""pipekit.util, the law.util spellings ported analyses call (range_expand, human_bytes, ...)."""

from __future__ import annotations

import os

import pytest

import pipekit
from pipekit import util


def test_range_expand_reads_law_range_strings_and_tuples():
    assert util.range_expand("5:8") == [5, 6, 7]
    assert util.range_expand((6, 9)) == [6, 7, 8]
    assert util.range_expand("5:8", include_end=True) == [5, 6, 7, 8]
    assert util.range_expand(["5:8", "10:"], max_value=12) == [5, 6, 7, 10, 11]
    assert util.range_expand([":3", "2"], min_value=0) == [0, 1, 2]


def test_range_expand_open_ends_need_limits():
    with pytest.raises(ValueError, match="needs max_value"):
        util.range_expand("10:")
    with pytest.raises(ValueError, match="invalid number or range"):
        util.range_expand("a:3")


def test_range_join_gives_tuples_or_the_string_form():
    assert util.range_join([1, 2, 3, 5]) == [(1, 4), (5,)]
    assert util.range_join(["3", 1, 2], include_end=True) == [(1, 3)]
    assert util.range_join([1, 2, 3, 5, 7, 8, 9], to_str=True) == "1:4,5,7:10"
    assert util.range_expand(util.range_join([0, 1, 4, 5, 6], to_str=True).split(",")) == [
        0,
        1,
        4,
        5,
        6,
    ]


def test_human_bytes_formats_like_law():
    assert util.human_bytes(3407872) == (3.25, "MB")
    assert util.human_bytes(3407872, fmt=True) == "3.2 MB"
    assert util.human_bytes(3407872, "kB", fmt="{:.0f}{}") == "3328kB"
    assert util.human_bytes(100, fmt=True) == "100 bytes"


def test_rel_path_anchors_at_a_file_s_directory(tmp_path):
    module = tmp_path / "ana" / "tasks.py"
    module.parent.mkdir()
    module.write_text("")
    assert util.rel_path(str(module), "data", "x.json") == str(tmp_path / "ana" / "data" / "x.json")
    assert util.law_src_path() == os.path.dirname(pipekit.__file__)


def test_util_only_re_exports_helpers_defined_elsewhere():
    defined_here = [
        n for n in util.__all__ if getattr(getattr(util, n), "__module__", "") == util.__name__
    ]
    assert defined_here == []
