"""
Tests for pipekit.workflow.parameter: ``--branches`` ranges and WorkflowParameter, which selects
branches by a value in their branch data (in-process, and through ``pipekit run``).
"""

from __future__ import annotations

import os
import subprocess
import sys

import luigi
import pytest

import pipekit as law
from pipekit.errors import BranchError, ParameterError
from pipekit.workflow.parameter import BranchesParameter, branches_to_ranges

luigi.namespace("test_workflow_parameter", scope=__name__)

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
PIPEKIT = os.path.join(os.path.dirname(sys.executable), "pipekit")

DATASETS = [
    {"dataset": "data_a", "year": 2017},
    {"dataset": "data_b", "year": 2018},
    {"dataset": "mc_c", "year": 2018},
]


class Datasets(law.LocalWorkflow):
    """One branch per dataset; --dataset selects branches by name."""

    dataset = law.WorkflowParameter()

    def create_branch_map(self):
        return DATASETS

    def output(self):
        return law.LocalFileTarget(f"out/datasets/{self.branch_data['dataset']}.json")

    def run(self):
        self.output().dump({"branch": self.branch, "dataset": self.dataset})


class Years(law.LocalWorkflow):
    """law's form: create_branch_map is a classmethod receiving the parameter values."""

    year = law.WorkflowParameter(cls=luigi.IntParameter)
    scale = luigi.IntParameter(default=1)

    @classmethod
    def create_branch_map(cls, params):
        return [{"year": 2016 + i * params["scale"]} for i in range(3)]

    def output(self):
        return law.LocalFileTarget(f"out/years/{self.year}.json")

    def run(self):
        self.output().dump(self.branch_data)


pytestmark = pytest.mark.usefixtures("fresh_tasks")


def pipekit_run(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LAW_", "PIPEKIT_"))}
    env["PYTHONPATH"] = TESTS_DIR
    return subprocess.run(
        [PIPEKIT, "run", *args], capture_output=True, text=True, env=env, timeout=60
    )


# -- --branches -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, ranges",
    [
        ("0-9,15", ((0, 10), (15,))),
        ("0:10", ((0, 10),)),
        (":5", ((None, 5),)),
        ("20:", ((20, None),)),
        ("3", ((3,),)),
    ],
)
def test_branches_parameter_reads_inclusive_exclusive_and_open_ranges(text, ranges):
    assert BranchesParameter().parse(text) == ranges


def test_equal_branch_selections_give_the_same_task_id():
    p = BranchesParameter()
    assert p.serialize(p.parse("0-9,15")) == "0:10,15"
    assert Datasets(branches="0-1").task_id == Datasets(branches="0:2").task_id
    assert Datasets(branches="0-1").task_id != Datasets(branches="0-2").task_id


@pytest.mark.parametrize("text", ["-1", "a-b", "1:x"])
def test_branches_parameter_refuses_negative_numbers_and_garbage(text):
    with pytest.raises((ValueError, ParameterError)):
        BranchesParameter().parse(text)


def test_branches_to_ranges_joins_consecutive_branches():
    assert branches_to_ranges([7, 0, 1, 2, 5, 8]) == ((0, 3), (5,), (7, 9))
    assert branches_to_ranges([]) == ()


# -- WorkflowParameter ----------------------------------------------------------------------------


def test_one_value_matching_one_branch_makes_the_task_that_branch():
    task = Datasets(dataset="data_b")
    assert task.branch == 1
    assert task.branch_data == DATASETS[1]
    assert task == Datasets(branch=1)


def test_branch_gets_its_workflow_parameter_value_from_the_branch_data():
    wf = Datasets()
    assert Datasets(branch=2).dataset == "mc_c"
    assert wf.branch_task(2).dataset == "mc_c"
    assert wf.branch_task(2) == wf.req_branch(2)
    assert wf.branch_task(2).param_kwargs == wf.req_branch(2).param_kwargs


def test_several_values_make_a_workflow_over_the_matching_branches():
    task = Datasets(dataset=("data_a", "mc_c"))
    assert task.is_workflow()
    assert list(task.branch_map) == [0, 2]


def test_a_value_shared_by_several_branches_makes_a_workflow():
    task = Years(year=2017, scale=1)
    assert task.branch == 1
    assert Years(year=(2016, 2018)).get_branches_repr() == "0,2"
    shared = Datasets.get_param_values(Datasets.get_params(), (), {"dataset": ("data_b",)})
    assert dict(shared)["branches"] == ((1,),)


def test_law_style_classmethod_branch_map_receives_the_parameter_values():
    assert Years(scale=2).branch_map == {0: {"year": 2016}, 1: {"year": 2018}, 2: {"year": 2020}}
    assert Years(year=2020, scale=2).branch == 2


def test_workflow_parameter_conflicting_with_branch_is_refused():
    with pytest.raises(BranchError, match="is branch 1 of Datasets, not --branch 2"):
        Datasets(dataset="data_b", branch=2)
    with pytest.raises(BranchError, match="not both"):
        Datasets(dataset=("data_a", "data_b"), branches="0")


def test_workflow_parameter_selects_the_branch_to_run_on_the_command_line(home):
    r = pipekit_run("test_workflow_parameter.Datasets", "--dataset", "mc_c")
    assert r.returncode == 0, r.stderr
    assert sorted(os.listdir("out/datasets")) == ["mc_c.json"]
    r = pipekit_run("test_workflow_parameter.Datasets", "--dataset", "data_a,data_b")
    assert r.returncode == 0, r.stderr
    assert sorted(os.listdir("out/datasets")) == ["data_a.json", "data_b.json", "mc_c.json"]


def test_unknown_workflow_parameter_value_is_one_line_and_exit_code_2(home):
    r = pipekit_run("test_workflow_parameter.Datasets", "--dataset", "data_z")
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [
        "pipekit: error: --dataset data_z matches no branch of Datasets"
    ]
    assert not os.path.exists("out")
