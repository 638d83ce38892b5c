"""Tests for pipekit.ranges, pipekit.brace and pipekit.humanize (the small text parsers)."""

from __future__ import annotations

import pytest

from pipekit.brace import brace_expand
from pipekit.errors import ParameterError
from pipekit.humanize import human_bytes, human_duration, parse_bytes, parse_duration, time_unit
from pipekit.ranges import OPEN, expand_ranges, join_ranges, parse_ranges

# -- ranges ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, ranges",
    [
        ("5", ((5,),)),
        ("0-9", ((0, 10),)),  # dash: end included
        ("20:30", ((20, 30),)),  # colon: end excluded
        ("40:", ((40, OPEN),)),
        (":5", ((OPEN, 5),)),
        ("5-", ((5, OPEN),)),
        ("0-9,15,20:30", ((0, 10), (15,), (20, 30))),
        (" 1 , 3:4 ,", ((1,), (3, 4))),
        ("", ()),
    ],
)
def test_parse_ranges(text, ranges):
    assert parse_ranges(text) == ranges


@pytest.mark.parametrize("text", ["a", "1-b", "1:2:3", "x:"])
def test_parse_ranges_rejects_garbage_with_a_readable_error(text):
    with pytest.raises(ParameterError) as exc:
        parse_ranges(text)
    assert "A-B (B included)" in str(exc.value)


def test_expand_ranges_gives_sorted_unique_integers():
    assert expand_ranges(parse_ranges("0-3,7,9:11,2")) == [0, 1, 2, 3, 7, 9, 10]
    assert expand_ranges([(3, 3)]) == []


def test_expand_ranges_fills_open_edges_from_min_and_max():
    assert expand_ranges(parse_ranges(":3")) == [0, 1, 2]
    assert expand_ranges(parse_ranges(":3"), min_value=1) == [1, 2]
    assert expand_ranges(parse_ranges("8:"), max_value=10) == [8, 9, 10]


def test_expand_open_end_without_maximum_raises():
    with pytest.raises(ParameterError, match="maximum"):
        expand_ranges(parse_ranges("8:"))


@pytest.mark.parametrize(
    "values, text",
    [([0, 1, 2, 3, 7, 9, 10], "0-3,7,9-10"), ([5], "5"), ([], ""), ([3, 1, 2, 2], "1-3")],
)
def test_join_ranges(values, text):
    assert join_ranges(values) == text


def test_join_ranges_round_trips_through_parse_and_expand():
    values = [0, 1, 2, 5, 8, 9, 12]

    assert expand_ranges(parse_ranges(join_ranges(values))) == values


@pytest.mark.parametrize(
    "max_ranges, text",
    [(4, "0,2,...,16,18"), (3, "0,2,...,18"), (1, "0,..."), (10, "0,2,4,6,8,10,12,14,16,18")],
)
def test_join_ranges_shows_at_most_max_ranges(max_ranges, text):
    joined = join_ranges(range(0, 20, 2), max_ranges=max_ranges)

    assert joined == text
    assert len([p for p in joined.split(",") if p != "..."]) <= max_ranges


# -- brace expansion ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expanded",
    [
        ("a{1,2}b,c", ["a1b", "a2b", "c"]),
        ("a{b,c{d,e}}", ["ab", "acd", "ace"]),
        ("{a,b}{1,2}", ["a1", "a2", "b1", "b2"]),
        ("a{,b}", ["a", "ab"]),
        ("{a}", ["{a}"]),  # a single option is not expanded, as in bash
        ("a{b,c", ["a{b,c"]),  # unbalanced: left as is
        ("a,b,", ["a", "b"]),  # a trailing separator adds nothing
        ("plain", ["plain"]),
    ],
)
def test_brace_expand(text, expanded):
    assert brace_expand(text) == expanded


def test_brace_expand_escaped_separator_is_kept_literal():
    assert brace_expand(r"x\,y,z") == ["x,y", "z"]
    assert brace_expand(r"a{b\,c,d}") == ["ab,c", "ad"]


def test_brace_expand_with_other_or_no_separator():
    assert brace_expand("a{1,2}:b", sep=":") == ["a1", "a2", "b"]
    assert brace_expand("a{1,2},b", sep=None) == ["a1,b", "a2,b"]


# -- durations ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, seconds",
    [
        ("90", 90),
        ("90s", 90),
        ("5m", 300),
        ("1h30m", 5400),
        ("1h 30m", 5400),
        ("1.5h", 5400),
        ("2d", 172800),
        ("1w", 604800),
        ("500ms", 0.5),
        ("5 minutes, 15 seconds", 315),
        ("01:30:00", 5400),
        ("05:10", 310),
        ("1:00:00:00", 86400),
        ("", 0),
        (" 10 sec ", 10),
    ],
)
def test_parse_duration(text, seconds):
    assert parse_duration(text) == pytest.approx(seconds)


def test_parse_duration_units_of_input_and_output():
    assert parse_duration(2, input_unit="m") == 120.0
    assert parse_duration("120", unit="m") == 2.0
    assert parse_duration("90", input_unit="min", unit="h") == 1.5


@pytest.mark.parametrize("text", ["abc", "-5", "h", "1:2:3:4:5", "1:xx"])
def test_parse_duration_rejects_garbage_with_an_example(text):
    with pytest.raises(ValueError, match="1h30m"):
        parse_duration(text)


def test_parse_duration_names_an_unknown_unit():
    with pytest.raises(ValueError, match="unknown unit 'parsec'"):
        parse_duration("5 parsec")


def test_time_unit_normalises_aliases_and_rejects_unknown():
    assert time_unit("minutes") == "m"
    assert time_unit("HOURS") == "h"
    with pytest.raises(ValueError, match="fortnight"):
        time_unit("fortnight")


@pytest.mark.parametrize(
    "seconds, text, colon",
    [
        (0, "0s", "00:00"),
        (0.25, "250ms", "00:00"),
        (5.5, "5.5s", "00:06"),
        (59, "59s", "00:59"),
        (60, "1m", "01:00"),
        (3600, "1h", "01:00:00"),
        (3725, "1h 2m 5s", "01:02:05"),
        (90061, "1d 1h 1m 1s", "25:01:01"),
    ],
)
def test_human_duration(seconds, text, colon):
    assert human_duration(seconds) == text
    assert human_duration(seconds, colon_format=True) == colon


def test_colon_format_parses_back_to_the_same_whole_seconds():
    for seconds in (0, 59, 61, 3599, 3725, 90061):
        assert parse_duration(human_duration(seconds, colon_format=True)) == seconds


# -- byte sizes -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, n",
    [
        ("512", 512),
        ("1kB", 1024),
        ("1 KiB", 1024),
        ("2 GB", 2 * 1024**3),
        ("1.5M", 1.5 * 1024**2),
        ("3 bytes", 3),
        ("1TB", 1024**4),
    ],
)
def test_parse_bytes_in_binary_multiples(text, n):
    assert parse_bytes(text) == n


def test_parse_bytes_units_of_input_and_output():
    assert parse_bytes("1.5 TB", unit="GB") == 1536.0
    assert parse_bytes(1, input_unit="MB") == 1024.0**2
    assert parse_bytes(2048, unit="kB") == 2.0


@pytest.mark.parametrize("text", ["", "abc", "-1", "1.2.3MB"])
def test_parse_bytes_rejects_garbage(text):
    with pytest.raises(ValueError, match="500MB"):
        parse_bytes(text)


def test_parse_bytes_names_an_unknown_unit():
    with pytest.raises(ValueError, match="'XB'"):
        parse_bytes("5 XB")


def test_human_bytes_picks_the_largest_unit_keeping_value_above_one():
    assert human_bytes(0) == (0.0, "bytes")
    assert human_bytes(1023) == (1023.0, "bytes")
    assert human_bytes(1536) == (1.5, "kB")
    assert human_bytes(3 * 1024**3) == (3.0, "GB")
    assert human_bytes(2048, "kB") == (2.0, "kB")
    assert human_bytes(2048, "mib") == (2048 / 1024**2, "MB")
