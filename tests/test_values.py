"""pipekit.values: law.util's checks and conversions of single values."""

from __future__ import annotations

import pytest

from pipekit import values as v


def test_numbers_and_rounding():
    assert v.is_number(1.5) and not v.is_number(True) and not v.is_number("1")
    assert v.is_float("2.5") and not v.is_float("x")
    assert v.try_int(2.0) == 2 and isinstance(v.try_int(2.0), int) and v.try_int(2.5) == 2.5
    assert v.round_discrete(17, 5) == 15 and v.round_discrete(17, 5, "ceil") == 20
    with pytest.raises(ValueError, match="unknown round_fn 'up'"):
        v.round_discrete(1, 1, "up")


def test_str_to_int_reads_prefixed_bases_and_flags_read_as_law():
    assert v.str_to_int("0o660") == 0o660 and v.str_to_int("0x1f") == 31 and v.str_to_int("12") == 12
    assert v.flag_to_bool("Yes") is True and v.flag_to_bool("off") is False
    assert v.flag_to_bool("maybe", silent=True) is None
    with pytest.raises(ValueError, match="cannot read 'maybe' as a flag"):
        v.flag_to_bool("maybe")


def test_multi_match_patterns_regexes_and_negation():
    assert v.multi_match("data_2018", ["mc_*", "data_*"])
    assert not v.multi_match("data_2018", ["data_*", "!*2018"], mode=all)
    assert v.multi_match("run42", "^run\\d+$") and not v.multi_match("run42", "^run\\d$")
    assert v.is_pattern("a*") and not v.is_pattern("abc")


def test_hashes_are_stable_and_random_strings_are_not():
    assert v.create_hash("abc") == v.create_hash("abc") and len(v.create_hash("abc")) == 10
    assert v.create_hash("abc", l=4, to_int=True) == int(v.create_hash("abc", l=4), 16)
    assert v.create_random_string("job", l=6).startswith("job_")
    assert v.create_random_string() != v.create_random_string()
