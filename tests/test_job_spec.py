"""Job specs: what a remote job runs, written by the submitter and rebuilt on the node."""

from __future__ import annotations

import json
import sys
import textwrap

import pytest

from pipekit.errors import ParameterError, UsageError
from pipekit.job.spec import JobSpec, module_root

NASTY = "a b 'single' \"double\" ; $(touch x) `id` $HOME \\ \nnew line\ttab"

TASKS = '''
import luigi
import pipekit as law
law.contrib.load("slurm")


class Work(law.slurm.SlurmWorkflow, law.LocalWorkflow):
    text = luigi.Parameter(default="plain")
    count = luigi.IntParameter(default=3)
    ratio = luigi.FloatParameter(default=0.5)
    items = luigi.ListParameter(default=[1, 2])

    def create_branch_map(self):
        return list(range(self.count))

    def output(self):
        return law.LocalFileTarget(f"out/{self.branch}.txt")
'''


@pytest.fixture
def tasks(tmp_path, monkeypatch, home):
    pkg = tmp_path / "lib" / "specpkg"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "spec_tasks.py").write_text(textwrap.dedent(TASKS))
    monkeypatch.syspath_prepend(str(tmp_path / "lib"))
    import importlib

    yield importlib.import_module("specpkg.spec_tasks")
    for name in [m for m in sys.modules if m.startswith("specpkg")]:
        del sys.modules[name]


def test_spec_round_trips_parameter_values_verbatim(tasks, tmp_path):
    wf = tasks.Work(text=NASTY, count=4, ratio=0.25, items=[3, "x y"])
    spec = JobSpec.from_workflow(wf, [1, 3], exclude=set(), workers=2, job_num=7, attempt=2, tag="t")
    path = str(tmp_path / "spec.json")
    spec.dump(path)
    loaded = JobSpec.load(path)
    rebuilt = loaded.build_workflow()
    assert rebuilt.text == NASTY
    assert (rebuilt.count, rebuilt.ratio, list(rebuilt.items)) == (4, 0.25, [3, "x y"])
    assert list(rebuilt.branch_map) == [1, 3]
    assert (loaded.job_num, loaded.attempt, loaded.tag, loaded.workers) == (7, 2, "t", 2)


def test_spec_leaves_out_excluded_parameters(tasks):
    wf = tasks.Work(retries=2)
    proxy = wf.workflow_proxy
    spec = JobSpec.from_workflow(wf, [0], exclude=proxy.spec_exclude())
    assert "text" in spec.params and "count" in spec.params
    for name in ("retries", "poll_interval", "branch", "branches", "workflow", "slurm_partition",
                 "acceptance", "dry_run"):
        assert name not in spec.params


def test_module_root_makes_a_package_module_importable(tasks, tmp_path):
    assert module_root(tasks.Work) == str(tmp_path / "lib")
    spec = JobSpec.from_workflow(tasks.Work(), [0], exclude=set())
    assert spec.python_path == [str(tmp_path / "lib")]


def test_task_defined_in_main_cannot_be_submitted(tasks):
    class Local(tasks.Work):
        pass

    Local.__module__ = "__main__"
    with pytest.raises(UsageError, match="move the task into a module"):
        JobSpec.from_workflow(Local(), [0], exclude=set())


def test_unknown_parameter_in_a_spec_is_named(tasks, tmp_path):
    spec = JobSpec.from_workflow(tasks.Work(), [0], exclude=set())
    spec.params["gone"] = "1"
    with pytest.raises(ParameterError, match="has no parameter 'gone'"):
        spec.build_workflow()


def test_unparsable_value_in_a_spec_is_named(tasks):
    spec = JobSpec.from_workflow(tasks.Work(), [0], exclude=set())
    spec.params["count"] = "three"
    with pytest.raises(ParameterError, match="--count 'three'"):
        spec.build_workflow()


def test_loading_something_that_is_not_a_spec_fails_clearly(tmp_path):
    path = tmp_path / "x.json"
    path.write_text(json.dumps({"hello": 1}))
    with pytest.raises(UsageError, match="not a pipekit job spec"):
        JobSpec.load(str(path))
    with pytest.raises(UsageError, match="cannot read job spec"):
        JobSpec.load(str(tmp_path / "missing.json"))


def test_other_families_command_line_values_travel_with_the_spec(tasks, monkeypatch):
    from pipekit.task import base

    monkeypatch.setattr(base, "_cli_values", {"Work": {"count": "3"}, "Upstream": {"n": "50%"}})
    spec = JobSpec.from_workflow(tasks.Work(), [0], exclude=set())
    assert spec.family_params == {"Upstream": {"n": "50%"}}
    spec.build_workflow()
    import luigi.configuration

    assert luigi.configuration.get_config().get("Upstream", "n") == "50%"
