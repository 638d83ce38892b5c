"""
Tests for pipekit.workflow.base: branch maps, branch selection, branch and workflow tasks,
workflow outputs and requirements, --workflow selection, workflow properties and dynamic
workflow conditions. Command-line behaviour is tested through real ``pipekit run`` processes,
object behaviour in-process.
"""

from __future__ import annotations

import os
import subprocess
import sys

import luigi
import pytest

import pipekit as law
from pipekit.errors import BranchError, UsageError, WorkflowError
from pipekit.ranges import join_ranges
from pipekit.workflow.base import BaseWorkflowProxy

luigi.namespace("test_workflow_base", scope=__name__)

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
PIPEKIT = os.path.join(os.path.dirname(sys.executable), "pipekit")


def map_calls() -> int:
    """How often create_branch_map() of Letters ran (it appends a line per call)."""
    return len(open("map_calls.log").read().splitlines()) if os.path.exists("map_calls.log") else 0


class Letters(law.LocalWorkflow):
    """Branch i writes the i-th letter."""

    n = luigi.IntParameter(default=10)

    def create_branch_map(self):
        with open("map_calls.log", "a") as f:
            f.write(f"{os.getpid()}\n")
        return {i: chr(97 + i) for i in range(self.n)}

    def output(self):
        return law.LocalFileTarget(f"out/letters/{self.branch}.txt")

    def run(self):
        self.output().dump(self.branch_data, formatter="text")


class JoinLetters(law.Task):
    """Downstream of the Letters workflow: joins the collection of its branch outputs."""

    def requires(self):
        return Letters.req(self)

    def output(self):
        return law.LocalFileTarget("out/joined.txt")

    def run(self):
        coll = self.input()["collection"]
        text = "".join(coll[b].load(formatter="text") for b in sorted(coll.keys()))
        self.output().dump(text, formatter="text")


class Shout(law.LocalWorkflow):
    """Needs the whole Letters workflow first (workflow_requires); branch i reads letter i."""

    def create_branch_map(self):
        return 10

    def workflow_requires(self):
        return {"letters": Letters.req(self, branches=())}

    def requires(self):
        return Letters.req(self)

    def output(self):
        return law.LocalFileTarget(f"out/shout/{self.branch}.txt")

    def run(self):
        self.output().dump(self.input().load(formatter="text").upper(), formatter="text")


MAPS = {
    "dict": {0: "x", 5: "y"},
    "list": ["x", "y"],
    "int": 3,
    "negative": {2: "x", -1: "y"},
    "str_keys": {"a": 1},
    "string": "abc",
    "none": None,
    "bool": True,
}


class AnyMap(law.LocalWorkflow):
    kind = luigi.Parameter()

    def create_branch_map(self):
        return MAPS[self.kind]

    def output(self):
        return law.LocalFileTarget(f"out/any/{self.branch}")


class NeedsBroken(law.Task):
    def requires(self):
        return AnyMap.req(self, kind="string")

    def output(self):
        return law.LocalFileTarget("out/needs_broken")


class EchoProxy(BaseWorkflowProxy):
    """A second workflow type: writes the selected branches to out/echo.txt instead of running."""

    workflow_type = "echo"

    def run(self):
        os.makedirs("out", exist_ok=True)
        with open("out/echo.txt", "w") as f:
            f.write(join_ranges(self.task.branch_map))


class EchoWorkflow(law.BaseWorkflow):
    workflow_proxy_cls = EchoProxy


class LocalThenEcho(Letters, EchoWorkflow):
    pass


class EchoThenLocal(EchoWorkflow, Letters):
    pass


class Task(law.Task):
    """A user's own base class, as analyses have one, with a requires() helper."""

    version = luigi.Parameter(default="v1")

    def requires(self):
        return self.upstream()

    def upstream(self):
        return []

    def local_target(self, name):
        return law.LocalFileTarget(os.path.join("out", self.version, name))


class Squares(Task, law.LocalWorkflow):
    def create_branch_map(self):
        return 4

    def upstream(self):
        return Letters.req(self)

    def output(self):
        return self.local_target(f"sq_{self.branch}.json")

    def run(self):
        self.output().dump({"sq": self.branch**2, "letter": self.input().load(formatter="text")})


class Shared(law.LocalWorkflow):
    calls: list = []

    def create_branch_map(self):
        return 3

    @law.workflow_property
    def plain(self):
        Shared.calls.append(("plain", self.branch))
        return self.branch

    @law.cached_workflow_property
    def expensive(self):
        Shared.calls.append(("cached", self.branch))
        return {"value": 42}


class Listing(law.Task):
    """Writes the names the dynamic workflow below iterates over."""

    def output(self):
        return law.LocalFileTarget("out/names.json")

    def run(self):
        self.output().dump(["x", "y", "z"])


class PerName(law.LocalWorkflow):
    """Its branch map exists only once Listing ran (a dynamic workflow condition)."""

    def workflow_requires(self):
        return {"names": Listing.req(self)}

    @law.dynamic_workflow_condition
    def names_known(self):
        return self.input()["names"].exists()

    @names_known.create_branch_map
    def create_branch_map(self):
        return self.input()["names"].load()

    @names_known.output
    def output(self):
        return law.LocalFileTarget(f"out/names/{self.branch_data}.txt")

    def run(self):
        self.output().dump(self.branch_data, formatter="text")


class Many(law.LocalWorkflow):
    def create_branch_map(self):
        return 2000

    def output(self):
        return law.LocalFileTarget(
            f"out/many/{'even' if self.branch % 2 == 0 else 'odd'}/{self.branch}"
        )


pytestmark = pytest.mark.usefixtures("fresh_tasks")


def pipekit_run(task: str, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LAW_", "PIPEKIT_"))}
    env["PYTHONPATH"] = TESTS_DIR
    return subprocess.run(
        [PIPEKIT, "run", f"test_workflow_base.{task}", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def written(name: str) -> list[int]:
    d = os.path.join("out", name)
    return sorted(int(f.split(".")[0]) for f in os.listdir(d)) if os.path.isdir(d) else []


# -- branch maps ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kind, expected",
    [
        ("dict", {0: "x", 5: "y"}),
        ("list", {0: "x", 1: "y"}),
        ("int", {0: 0, 1: 1, 2: 2}),
    ],
)
def test_branch_map_from_dict_list_or_int(kind, expected):
    assert AnyMap(kind=kind).branch_map == expected
    assert (
        AnyMap(kind=kind, branch=1 if kind != "dict" else 5).branch_data
        == expected[1 if kind != "dict" else 5]
    )


@pytest.mark.parametrize(
    "kind, message",
    [
        ("negative", "keys that are not branch numbers >= 0: -1"),
        ("str_keys", "keys that are not branch numbers >= 0: 'a'"),
        ("string", "returned a str; it must return a dict {branch: data}, a list or an int"),
        ("none", "returned None"),
        ("bool", "returned True"),
    ],
)
def test_bad_branch_map_raises_an_error_naming_the_class_and_the_fix(kind, message):
    with pytest.raises(WorkflowError, match="AnyMap") as e:
        AnyMap(kind=kind).get_branch_map()
    assert message in str(e.value)


def test_bad_branch_map_is_one_line_on_the_command_line():
    r = pipekit_run("AnyMap", "--kind", "negative")
    assert r.returncode == 1
    assert r.stderr.strip().splitlines() == [
        "pipekit: error: the branch map of AnyMap has keys that are not branch numbers >= 0: -1; "
        "create_branch_map() must return a dict {branch: data}, a list or an int"
    ]


def test_bad_branch_map_of_a_required_workflow_is_named_in_the_run_output():
    r = pipekit_run("NeedsBroken")
    assert r.returncode == 50  # luigi's scheduling_error, law's code
    assert (
        "broken  test_workflow_base.AnyMap(branch=-1, kind=string): checking whether it is "
        "complete raised WorkflowError: create_branch_map() of AnyMap returned a str"
    ) in r.stderr


def test_branch_minus_one_is_the_workflow_and_branch_data_belongs_to_branches():
    wf = Letters()
    assert wf.branch == -1 and wf.is_workflow() and not wf.is_branch()
    assert Letters(branch=3).branch_data == "d"
    with pytest.raises(BranchError, match="is a workflow"):
        wf.branch_data  # noqa: B018
    with pytest.raises(
        BranchError, match=r"branch 12 is not in the branch map of Letters \(branches 0-9\)"
    ):
        Letters(branch=12).branch_data  # noqa: B018


def test_branch_map_is_computed_once_and_shared_with_all_branch_tasks():
    wf = Letters()
    assert map_calls() == 0
    for b in wf.branch_map:
        assert wf.branch_task(b).branch_data == chr(97 + b)
        assert wf.req_branch(b).branch_data == chr(97 + b)
        assert Letters(branch=b).branch_data == chr(97 + b)
    wf.complete()
    Letters(branches="2-4").branch_map  # noqa: B018
    assert map_calls() == 1
    Letters(n=3).branch_map  # noqa: B018  (other parameters: another map)
    assert map_calls() == 2


def test_a_pipekit_run_computes_the_branch_map_once():
    r = pipekit_run("JoinLetters", "--workers", "2")
    assert r.returncode == 0, r.stderr
    assert map_calls() == 1


# -- branch selection -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, branches",
    [
        ("0-3,8", [0, 1, 2, 3, 8]),
        ("2:5", [2, 3, 4]),
        (":3", [0, 1, 2]),
        ("7:", [7, 8, 9]),
    ],
)
def test_branches_selects_ranges_of_the_branch_map(text, branches):
    wf = Letters(branches=text)
    assert list(wf.branch_map) == branches
    assert list(wf.get_branch_tasks()) == branches
    assert list(wf.output()["collection"].keys()) == branches


def test_branch_and_branches_run_exactly_the_selected_branches():
    r = pipekit_run("Letters", "--branch", "3")
    assert r.returncode == 0, r.stderr
    assert written("letters") == [3]
    r = pipekit_run("Letters", "--branches", "0-1,8:")
    assert r.returncode == 0, r.stderr
    assert written("letters") == [0, 1, 3, 8, 9]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--branches", "20:"], "--branches 20: selects no branch of Letters (branches 0-9)"),
        (
            ["--branches", "3,42-43"],
            "--branches selects 42-43, which are not in the branch map of Letters (branches 0-9)",
        ),
        (["--branch", "42"], "branch 42 is not in the branch map of Letters (branches 0-9)"),
    ],
)
def test_selecting_no_or_missing_branches_is_one_line_and_exit_code_2(args, message):
    r = pipekit_run("Letters", *args)
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [f"pipekit: error: {message}"]
    assert not os.path.exists("out")


# -- branch and workflow tasks --------------------------------------------------------------------


def test_branch_task_equals_req_branch():
    wf = Letters(n=5)
    for b in range(5):
        fast, slow = wf.branch_task(b), wf.req_branch(b)
        assert fast == slow
        assert fast.task_id == slow.task_id
        assert fast.param_kwargs == slow.param_kwargs
        assert fast.to_str_params() == slow.to_str_params()
        assert hash(fast) == hash(slow)
        assert fast.output().path == slow.output().path


def test_as_branch_as_workflow_and_get_branch_tasks():
    wf = Letters(branches="4:7")
    assert wf.as_workflow() is wf
    first = wf.as_branch()
    assert first.branch == 4 and first.as_branch() is first
    assert wf.as_branch(6) == Letters(branch=6)
    assert Letters(branch=6).as_workflow() == Letters()
    assert {b: t.branch for b, t in wf.get_branch_tasks().items()} == {4: 4, 5: 5, 6: 6}
    with pytest.raises(BranchError, match="use as_workflow"):
        wf.req_branch(-1)


def test_workflow_output_is_a_collection_of_the_branch_outputs():
    out = Letters(branches="0-2").output()
    assert list(out) == ["collection"]
    coll = out["collection"]
    assert isinstance(coll, law.TargetCollection)
    assert [t.path for t in coll.targets.values()] == [
        os.path.abspath(f"out/letters/{b}.txt") for b in range(3)
    ]


def test_downstream_task_gets_the_collection_as_input():
    r = pipekit_run("JoinLetters")
    assert r.returncode == 0, r.stderr
    assert open("out/joined.txt").read() == "abcdefghij"


def test_workflow_requires_runs_the_upstream_workflow_first():
    r = pipekit_run("Shout", "--branches", "0-1")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert out.index("done    test_workflow_base.Letters(branch=-1, n=10)") < out.index(
        "Shout: running"
    )
    assert written("letters") == list(range(10))
    assert [open(f"out/shout/{b}.txt").read() for b in (0, 1)] == ["A", "B"]


def test_pilot_skips_workflow_requires_but_resolves_branch_requirements():
    r = pipekit_run("Shout", "--branches", "0-1", "--pilot")
    assert r.returncode == 0, r.stderr
    assert written("letters") == [0, 1]
    assert written("shout") == [0, 1]


def test_print_status_summarises_present_and_missing_branches():
    pipekit_run("Letters", "--branches", "0-2")
    r = pipekit_run("Letters", "--print-status", "0")
    assert r.returncode == 0, r.stderr
    assert "absent (3/10)" in r.stdout
    assert "branches: 10 selected, 3 present, 7 missing (3-9)" in r.stdout


# -- workflow types -------------------------------------------------------------------------------


def test_workflow_selects_among_the_inherited_workflow_types():
    assert LocalThenEcho().workflow_type == "local"
    assert EchoThenLocal().workflow_type == "echo"
    r = pipekit_run("LocalThenEcho", "--workflow", "echo", "--branches", "2-4")
    assert r.returncode == 0, r.stderr
    assert open("out/echo.txt").read() == "2-4"
    assert written("letters") == []
    r = pipekit_run("EchoThenLocal", "--workflow", "local", "--branches", "5")
    assert r.returncode == 0, r.stderr
    assert written("letters") == [5]


def test_unknown_workflow_type_is_one_line_naming_the_supported_types():
    r = pipekit_run("LocalThenEcho", "--workflow", "slurm")
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [
        "pipekit: error: LocalThenEcho has no workflow type 'slurm'; it supports: local, echo"
    ]
    with pytest.raises(UsageError):
        Letters(workflow="htcondor").workflow_proxy  # noqa: B018


def test_users_base_class_with_own_requires_mixes_with_local_workflow():
    assert Squares.__mro__.index(Task) < Squares.__mro__.index(law.LocalWorkflow)
    assert Squares().requires() == {}
    assert Squares(branch=2).requires() == Letters(branch=2)
    assert list(Squares().output()) == ["collection"]
    r = pipekit_run("Squares", "--version", "v7")
    assert r.returncode == 0, r.stderr
    import json

    assert json.load(open("out/v7/sq_3.json")) == {"sq": 9, "letter": "d"}


# -- workflow properties and dynamic workflows -------------------------------------------------


def test_workflow_property_is_evaluated_on_the_workflow_and_cached_once():
    Shared.calls.clear()
    wf = Shared()
    values = [wf.branch_task(b).expensive for b in range(3)] + [wf.req_branch(1).expensive]
    assert all(v is values[0] for v in values)
    assert [wf.branch_task(b).plain for b in range(3)] == [-1, -1, -1]
    assert Shared.calls == [("cached", -1)] + [("plain", -1)] * 3
    wf.branch_task(0).expensive = {"value": 0}
    assert wf.expensive == {"value": 0}


def test_dynamic_workflow_condition_runs_with_the_real_map_in_the_same_run():
    assert PerName().branch_map == {0: None}  # placeholder: Listing has not run
    r = pipekit_run("PerName")
    assert r.returncode == 0, r.stderr
    assert sorted(os.listdir("out/names")) == ["x.txt", "y.txt", "z.txt"]
    assert "PerName: running 3 of 3 branches" in r.stdout


# -- completeness ---------------------------------------------------------------------------------


def test_completeness_of_2000_branches_is_one_listing_per_output_directory(monkeypatch):
    for b in range(2000):
        d = f"out/many/{'even' if b % 2 == 0 else 'odd'}"
        os.makedirs(d, exist_ok=True)
        open(f"{d}/{b}", "w").close()
    os.remove("out/many/odd/7")
    calls = {"listdir": 0, "scandir": 0, "stat": 0}

    def counting(name):
        original = getattr(os, name)

        def wrapper(*args, **kwargs):
            calls[name] += 1
            return original(*args, **kwargs)

        return wrapper

    wf = Many()
    law.Config.instance()  # finding law.cfg (once per process, stats) is not part of the check
    for name in calls:
        monkeypatch.setattr(os, name, counting(name))
    assert not wf.complete()
    assert calls["listdir"] + calls["scandir"] == 2
    assert calls["stat"] == 0
    assert wf.missing_branches() == [7]


def test_a_workflows_output_allows_attribute_access_as_in_law():
    class Attr(law.LocalWorkflow):
        def create_branch_map(self):
            return [0, 1]

        def output(self):
            return law.LocalFileTarget(f"data/attr{self.branch}.txt")

    out = Attr().output()
    assert out.collection is out["collection"]
    assert [t.basename for t in out.collection.targets.values()] == ["attr0.txt", "attr1.txt"]
