"""Tests for pipekit.parameter: empty markers and the parameters beyond luigi's."""

from __future__ import annotations

import luigi
import pytest
from luigi.cmdline_parser import CmdlineParser

from pipekit.parameter import (
    NO_FLOAT,
    NO_INT,
    NO_STR,
    BytesParameter,
    CSVParameter,
    DurationParameter,
    MultiCSVParameter,
    MultiRangeParameter,
    OptionalBoolParameter,
    Parameter,
    RangeParameter,
    TaskInstanceParameter,
    get_param,
    is_no_param,
)
from pipekit.structure import no_value


def from_command_line(*args: str) -> luigi.Task:
    """The task luigi builds from a command line such as ``pipekit run Task --x 1``."""
    with CmdlineParser.global_instance(list(args)) as cp:
        return cp.get_task_obj()


class ParamTestTask(luigi.Task):
    text = Parameter(default="dflt")
    text_empty = Parameter(default="dflt", parse_empty=True)
    ints = CSVParameter(cls=luigi.IntParameter, default=(1, 2))
    ints_empty = CSVParameter(cls=luigi.IntParameter, default=(1, 2), parse_empty=True)
    groups = MultiCSVParameter(cls=luigi.IntParameter, default=())
    flag = OptionalBoolParameter(default=None)
    walltime = DurationParameter(default=60.0)
    memory = BytesParameter(default=1024.0)
    rng = RangeParameter(default=(0, 1))
    branches = MultiRangeParameter(
        default=(), require_start=False, require_end=False, single_value=True
    )


# -- empty markers ---------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [NO_STR, NO_INT, NO_FLOAT, no_value])
def test_no_markers_count_as_empty(value):
    assert is_no_param(value)
    assert get_param(value, "fallback") == "fallback"
    assert get_param(value) is None


@pytest.mark.parametrize("value", ["", "x", 0, 0.0, 1, False, True, None])
def test_ordinary_values_are_not_empty_markers(value):
    assert not is_no_param(value)
    assert get_param(value, "fallback") is value


# -- Parameter(parse_empty) ------------------------------------------------------------------------


def test_empty_command_line_value_falls_back_to_default():
    task = from_command_line("ParamTestTask", "--ParamTestTask-text", "", "--ints", "")

    assert task.text == "dflt"
    assert task.ints == (1, 2)


def test_parse_empty_passes_empty_command_line_value_to_parse():
    # luigi's own parser drops empty values of the root task's short options before any
    # parameter sees them, so this goes through the --Family-param form
    task = from_command_line(
        "ParamTestTask", "--ParamTestTask-text-empty", "", "--ParamTestTask-ints-empty", ""
    )

    assert task.text_empty == ""
    assert task.ints_empty == ()


# -- TaskInstanceParameter ----------------------------------------------------------------------


class Upstream(luigi.Task):
    n = luigi.IntParameter(default=3)


class Downstream(luigi.Task):
    upstream = TaskInstanceParameter()


def test_task_instance_parameter_holds_the_task_and_serialises_as_its_id():
    up = Upstream(n=7)
    down = Downstream(upstream=up)

    assert down.upstream is up
    assert TaskInstanceParameter().serialize(up) == up.task_id
    assert Downstream(upstream=Upstream(n=7)).task_id == down.task_id
    assert Downstream(upstream=Upstream(n=8)).task_id != down.task_id


def test_task_instance_parameter_rejects_strings():
    with pytest.raises(ValueError, match="task instance"):
        TaskInstanceParameter().parse("Upstream(n=7)")


# -- OptionalBoolParameter ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("true", True),
        ("True", True),
        ("yes", True),
        ("1", True),
        ("false", False),
        ("NO", False),
        ("0", False),
        ("None", None),
        ("none", None),
        ("", None),
    ],
)
def test_optional_bool_parses_true_false_and_none(text, expected):
    assert OptionalBoolParameter().parse(text) is expected


def test_optional_bool_rejects_other_words():
    with pytest.raises(ValueError, match="maybe"):
        OptionalBoolParameter().parse("maybe")


@pytest.mark.parametrize(
    "value, expected",
    [("false", False), ("None", None), (None, None), (True, True), ("true", True), (0, False)],
)
def test_optional_bool_values_passed_to_the_task_are_normalised(value, expected):
    assert ParamTestTask(flag=value).flag is expected


def test_optional_bool_from_command_line():
    assert from_command_line("ParamTestTask").flag is None
    assert from_command_line("ParamTestTask", "--flag").flag is True
    assert from_command_line("ParamTestTask", "--flag", "false").flag is False
    assert from_command_line("ParamTestTask", "--flag", "none").flag is None


def test_optional_bool_serialises_to_a_parsable_string():
    p = OptionalBoolParameter()
    for value in (True, False, None):
        assert p.parse(p.serialize(value)) is value


# -- DurationParameter ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, seconds",
    [
        ("90", 90.0),
        ("5s", 5.0),
        ("5m", 300.0),
        ("1h30m", 5400.0),
        ("1h 30m", 5400.0),
        ("05:10", 310.0),
        ("01:30:00", 5400.0),
        ("5 minutes, 15 seconds", 315.0),
        ("", 0.0),
        ("1.5h", 5400.0),
    ],
)
def test_duration_parses_human_formats_in_seconds(text, seconds):
    assert DurationParameter().parse(text) == pytest.approx(seconds)


def test_duration_plain_numbers_use_the_unit():
    p = DurationParameter(unit="m")

    assert p.parse("5") == 5.0
    assert p.parse("30s") == pytest.approx(0.5)
    assert p.parse("2h") == 120.0
    assert p.unit == "m"
    assert DurationParameter(unit="minutes").unit == "m"


def test_duration_serialises_in_colon_format_and_round_trips():
    p = DurationParameter(unit="m")

    assert p.serialize(5.25) == "05:15"
    assert p.serialize(90.0) == "01:30:00"
    assert p.parse(p.serialize(90.0)) == 90.0
    assert DurationParameter().serialize(310) == "05:10"


def test_duration_rejects_unknown_units_and_garbage():
    with pytest.raises(ValueError, match="fortnights"):
        DurationParameter().parse("2 fortnights")
    with pytest.raises(ValueError):
        DurationParameter().parse("soon")
    with pytest.raises(ValueError, match="unknown time unit"):
        DurationParameter(unit="lightyear")


def test_duration_from_command_line():
    assert from_command_line("ParamTestTask", "--walltime", "2h").walltime == 7200.0


# -- BytesParameter -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, mb",
    [
        ("500", 500.0),
        ("2GB", 2048.0),
        ("1.5 GB", 1536.0),
        ("512kB", 0.5),
        ("1 TB", 1024.0**2),
        ("2gib", 2048.0),
        ("", 0.0),
    ],
)
def test_bytes_parses_sizes_in_the_unit(text, mb):
    assert BytesParameter().parse(text) == pytest.approx(mb)


def test_bytes_unit_can_be_chosen_and_serialisation_round_trips():
    p = BytesParameter(unit="kB")

    assert p.parse("1MB") == 1024.0
    assert p.serialize(2048.0) == "2048kB"
    assert p.serialize(1.5) == "1.5kB"
    assert p.parse(p.serialize(1.5)) == 1.5


def test_bytes_rejects_unknown_units():
    with pytest.raises(ValueError, match="XB"):
        BytesParameter().parse("5 XB")
    with pytest.raises(ValueError, match="size"):
        BytesParameter().parse("lots")


def test_bytes_from_command_line():
    assert from_command_line("ParamTestTask", "--memory", "4GB").memory == 4096.0


# -- CSVParameter ---------------------------------------------------------------------------------


def test_csv_parses_items_with_the_item_class():
    p = CSVParameter(cls=luigi.IntParameter)

    assert p.parse("4,5,6,6") == (4, 5, 6, 6)
    assert p.serialize((7, 8, 9)) == "7,8,9"


@pytest.mark.parametrize("empty", ["", None, NO_STR])
def test_csv_empty_input_is_an_empty_tuple(empty):
    assert CSVParameter().parse(empty) == ()
    assert CSVParameter().serialize(()) == ""


def test_csv_keeps_quotes_and_spaces_as_written():
    p = CSVParameter()

    assert p.parse('"a",b') == ('"a"', "b")
    assert p.parse("a, b") == ("a", " b")
    assert p.parse("line1\nline2,x") == ("line1\nline2", "x")


def test_csv_unique_keeps_first_occurrence_order():
    assert CSVParameter(cls=luigi.IntParameter, unique=True).parse("3,1,3,2,1") == (3, 1, 2)


def test_csv_sort_with_bool_and_key_function():
    assert CSVParameter(cls=luigi.IntParameter, sort=True).parse("3,1,2") == (1, 2, 3)
    by_len = CSVParameter(sort=len)
    assert by_len.parse("ccc,a,bb") == ("a", "bb", "ccc")


def test_csv_min_and_max_len_are_enforced():
    p = CSVParameter(min_len=2, max_len=3)

    assert p.parse("a,b") == ("a", "b")
    with pytest.raises(ValueError, match="at least 2"):
        p.parse("a")
    with pytest.raises(ValueError, match="at most 3"):
        p.parse("a,b,c,d")
    with pytest.raises(ValueError, match="at most 3"):
        p.serialize(("a", "b", "c", "d"))


def test_csv_choices_reject_other_values_and_list_the_choices():
    p = CSVParameter(cls=luigi.IntParameter, choices=(1, 2, 3))

    assert p.parse("1,3") == (1, 3)
    with pytest.raises(ValueError) as exc:
        p.parse("1,5,7")
    assert "5,7" in str(exc.value)
    assert "1,2,3" in str(exc.value)


def test_csv_brace_expansion():
    p = CSVParameter(cls=luigi.IntParameter, brace_expand=True)

    assert p.parse("1{2,3,4}9") == (129, 139, 149)
    assert CSVParameter(brace_expand=True).parse("ee_{2016,2017},mm") == (
        "ee_2016",
        "ee_2017",
        "mm",
    )


def test_csv_escaped_separator_stays_in_the_value_and_round_trips():
    p = CSVParameter()

    assert p.parse(r"a\,b,c") == ("a,b", "c")
    assert p.serialize(("a,b", "c")) == r"a\,b,c"
    assert p.parse(p.serialize(("a,b", "c"))) == ("a,b", "c")
    assert CSVParameter(escape_sep=False).parse(r"a\,b") == ("a\\", "b")
    assert CSVParameter(brace_expand=True).parse(r"x\,y,{p,q}") == ("x,y", "p", "q")


def test_csv_force_tuple_false_keeps_single_values_scalar():
    p = CSVParameter(force_tuple=False)

    assert p.parse("a") == "a"
    assert p.parse("a,") == ("a",)
    assert p.parse("a,b") == ("a", "b")
    assert p.serialize("a") == "a"
    assert p.serialize(("a",)) == "a,"


def test_csv_default_becomes_a_tuple():
    assert ParamTestTask().ints == (1, 2)
    assert CSVParameter(default=[3, 4])._default == (3, 4)


def test_csv_values_passed_to_the_task_become_checked_tuples():
    class CsvCtorTask(luigi.Task):
        vals = CSVParameter(cls=luigi.IntParameter, unique=True, sort=True, max_len=3)

    assert CsvCtorTask(vals=[3, 1, 3]).vals == (1, 3)
    assert CsvCtorTask(vals=5).vals == (5,)
    # same value however it was given: same task
    assert CsvCtorTask(vals=[3, 1]).task_id == CsvCtorTask(vals=(1, 3)).task_id
    assert hash(CsvCtorTask(vals=[2]).vals) == hash((2,))
    with pytest.raises(ValueError, match="at most 3"):
        CsvCtorTask(vals=[1, 2, 3, 4])


def test_csv_from_command_line():
    task = from_command_line("ParamTestTask", "--ints", "4,5,6")

    assert task.ints == (4, 5, 6)


# -- MultiCSVParameter ----------------------------------------------------------------------------


def test_multi_csv_parses_colon_separated_groups():
    p = MultiCSVParameter(cls=luigi.IntParameter)

    assert p.parse("4,5:6,6") == ((4, 5), (6, 6))
    assert p.parse("") == ()
    assert p.serialize(((7, 8), (9,))) == "7,8:9"
    assert p.parse(p.serialize(((7, 8), (9,)))) == ((7, 8), (9,))


def test_multi_csv_applies_options_per_group():
    assert MultiCSVParameter(cls=luigi.IntParameter, unique=True).parse("4,5:6,6") == ((4, 5), (6,))
    with pytest.raises(ValueError, match="at most 2"):
        MultiCSVParameter(max_len=2).parse("a,b:c,d,e")
    brace = MultiCSVParameter(cls=luigi.IntParameter, brace_expand=True)
    assert brace.parse("4,5:6,7,8{8,9}") == ((4, 5), (6, 7, 88, 89))


def test_multi_csv_escaped_colon_stays_in_the_value():
    assert MultiCSVParameter().parse(r"a\:b,c:d") == (("a:b", "c"), ("d",))


def test_multi_csv_values_passed_to_the_task_become_nested_tuples():
    task = ParamTestTask(groups=[[1, 2], [3]])

    assert task.groups == ((1, 2), (3,))
    hash(task.groups)  # luigi caches task instances by parameter values


def test_multi_csv_from_command_line():
    assert from_command_line("ParamTestTask", "--groups", "1,2:3").groups == ((1, 2), (3,))


# -- RangeParameter -------------------------------------------------------------------------------


def test_range_parses_start_and_end():
    p = RangeParameter()

    assert p.parse("4:8") == (4, 8)
    assert p.serialize((4, 8)) == "4:8"


def test_range_open_edges_need_permission():
    with pytest.raises(ValueError, match="start"):
        RangeParameter().parse(":8")
    with pytest.raises(ValueError, match="end"):
        RangeParameter().parse("4:")

    p = RangeParameter(require_start=False, require_end=False)
    assert p.parse(":8") == (RangeParameter.OPEN, 8)
    assert p.parse("4:") == (4, RangeParameter.OPEN)
    assert p.serialize((None, 8)) == ":8"


def test_range_single_value_only_when_allowed():
    assert RangeParameter(single_value=True).parse("4") == (4,)
    with pytest.raises(ValueError, match="range"):
        RangeParameter().parse("4")


@pytest.mark.parametrize("text", ["a:b", "4:8:2", "4.5:6"])
def test_range_rejects_malformed_values(text):
    with pytest.raises(ValueError):
        RangeParameter().parse(text)


def test_range_expand_excludes_the_end_and_fills_open_edges():
    assert RangeParameter.expand((4, 8)) == [4, 5, 6, 7]
    assert RangeParameter.expand((None, 3)) == [0, 1, 2]
    assert RangeParameter.expand((None, 3), min_value=1) == [1, 2]
    assert RangeParameter.expand((2, None), max_value=5) == [2, 3, 4, 5]


def test_range_from_command_line():
    assert from_command_line("ParamTestTask", "--rng", "3:9").rng == (3, 9)


# -- MultiRangeParameter --------------------------------------------------------------------------


def test_multi_range_parses_comma_separated_ranges():
    p = MultiRangeParameter(require_start=False, require_end=False, single_value=True)

    assert p.parse("4:8,12:14,20") == ((4, 8), (12, 14), (20,))
    assert p.parse(":2,7:") == ((None, 2), (7, None))
    assert p.serialize(((4, 8), (12,))) == "4:8,12"
    assert p.parse("") == ()


def test_multi_range_checks_every_range():
    with pytest.raises(ValueError, match="end"):
        MultiRangeParameter().parse("1:3,5:")


def test_multi_range_expand_gives_sorted_unique_values():
    assert MultiRangeParameter.expand(((4, 6), (12,), (5, 7))) == [4, 5, 6, 12]
    assert MultiRangeParameter.expand(((8, None),), max_value=9) == [8, 9]


def test_multi_range_from_command_line_gives_hashable_value():
    task = from_command_line("ParamTestTask", "--branches", "0:3,7")

    assert task.branches == ((0, 3), (7,))
    hash(task.branches)  # luigi caches task instances by parameter values


def test_duration_parameter_round_trips_the_no_float_marker():
    from pipekit.parameter import NO_FLOAT, DurationParameter

    p = DurationParameter()
    assert p.parse(p.serialize(NO_FLOAT)) == NO_FLOAT
    assert p.parse(p.serialize(90.0)) == 90.0


def test_bounded_int_refuses_small_values_from_every_source_but_keeps_its_special_ones():
    import luigi

    from pipekit.parameter import NO_INT, BoundedIntParameter

    class Jobs(luigi.Task):
        per_job = BoundedIntParameter(default=1, minimum=1)
        parallel = BoundedIntParameter(default=NO_INT, minimum=1, special=(NO_INT,),
                                       hint="leave it out for no limit")

    assert Jobs(per_job=3).per_job == 3 and Jobs().parallel == NO_INT
    assert Jobs.per_job.parse("2") == 2
    with pytest.raises(ValueError, match="must be at least 1, got 0"):
        Jobs(per_job=0)
    with pytest.raises(ValueError, match="got -4; leave it out for no limit"):
        Jobs.parallel.parse("-4")
    with pytest.raises(ValueError):
        Jobs.per_job.parse("two")
