"""The option split shared by pipekit graph, report and status (pipekit.cli.options)."""

import pytest

from pipekit.cli.graph import split_graph_args
from pipekit.cli.options import take_options
from pipekit.errors import UsageError


def test_own_options_leave_the_task_arguments_in_order():
    found, rest = take_options(["--n", "3", "-o", "a.png", "--depth=2", "--x=1"],
                               {"-o": "output"}, shadowable=("depth",))
    assert found == {"output": "a.png", "depth": "2"}
    assert rest == ["--n", "3", "--x=1"]


def test_a_task_parameter_of_the_same_name_keeps_its_option():
    found, rest = split_graph_args(["--depth", "4", "--graph-depth", "1", "--backend", "dot"],
                                   {"depth"})
    assert found == {"depth": "1", "backend": "dot"}
    assert rest == ["--depth", "4"]


def test_repeated_options_collect_and_flags_take_no_value():
    found, rest = take_options(["--scan", "a", "--once", "TASK", "--scan=b"], {"--scan": "scan"},
                               flags={"--once": "once"}, repeated=("scan",))
    assert found == {"scan": ["a", "b"], "once": True}
    assert rest == ["TASK"]
    assert take_options([], {"--scan": "scan"}, repeated=("scan",))[0] == {"scan": []}


def test_an_option_without_its_value_is_one_usage_error():
    with pytest.raises(UsageError, match="option -o needs a value"):
        take_options(["--n", "1", "-o"], {"-o": "output"})
