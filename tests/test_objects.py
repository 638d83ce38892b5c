"""pipekit.objects: classproperty, patch_object, is_classmethod, shared-state managers."""

from __future__ import annotations

import threading

import pytest

from pipekit import objects as o


class Analysis:
    campaign = "2018"

    @o.classproperty
    def label(cls):  # noqa: N805
        return f"analysis {cls.campaign}"

    @classmethod
    def build(cls):
        return cls

    def run(self):
        return None


def test_classproperty_reads_from_the_class_and_instances():
    assert Analysis.label == "analysis 2018" and Analysis().label == "analysis 2018"


def test_patch_object_restores_the_value_and_removes_added_attributes():
    with o.patch_object(Analysis, "campaign", "2022"):
        assert Analysis.label == "analysis 2022"
    assert Analysis.campaign == "2018"
    with o.patch_object(Analysis, "extra", 1, lock=True):
        assert Analysis.extra == 1
    assert not hasattr(Analysis, "extra")
    with pytest.raises(RuntimeError):
        with o.patch_object(Analysis, "campaign", "x"):
            raise RuntimeError
    assert Analysis.campaign == "2018"


def test_is_classmethod_tells_classmethods_from_methods():
    assert o.is_classmethod(Analysis.build) and o.is_classmethod(Analysis.build, Analysis)
    assert not o.is_classmethod(Analysis.run, Analysis)


def test_deferred_manager_starts_only_when_a_shared_object_is_asked_for():
    manager = o.DeferredManager()
    assert manager._manager is None
    shared = manager.get("counts", "dict")
    shared["a"] = 1
    assert manager.get("counts", "dict") is shared and dict(shared) == {"a": 1}
    manager._manager.shutdown()


def test_common_task_params_and_empty_context():
    import luigi

    class A(luigi.Task):
        x = luigi.IntParameter()
        y = luigi.IntParameter()

    class B(luigi.Task):
        y = luigi.IntParameter()

    assert o.common_task_params(A(x=1, y=2), B) == {"y": 2}
    with o.empty_context(5) as v:
        assert v == 5
    assert isinstance(o.default_lock, type(threading.Lock()))
