"""law-style loading of optional packages: law.contrib.load(name) then law.NAME."""

from __future__ import annotations

import pytest

import pipekit as law
from pipekit.errors import UsageError


def test_load_makes_the_package_an_attribute_of_pipekit():
    mod = law.contrib.load("slurm")
    assert law.slurm is mod
    assert law.slurm.SlurmWorkflow.__name__ == "SlurmWorkflow"
    assert "slurm" in law.contrib.loaded()


def test_load_of_several_names_returns_their_modules():
    mods = law.contrib.load("slurm", "htcondor")
    assert mods == [law.slurm, law.htcondor]


def test_unknown_package_is_a_usage_error():
    with pytest.raises(UsageError, match="no contrib package 'nosuchthing'"):
        law.contrib.load("nosuchthing")
    with pytest.raises(UsageError, match="module names"):
        law.contrib.load("../etc")
