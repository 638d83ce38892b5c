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


def test_unknown_package_message_lists_the_packages_there_are():
    with pytest.raises(UsageError, match=r"there are: .*\bslurm\b.*\bwlcg\b"):
        law.contrib.load("slurn")


def test_contrib_packages_are_importable_under_their_old_top_level_names(tmp_path):
    # code written against pipekit < 0.2 imports pipekit.slurm; it must get the same module
    code = ("import sys, pipekit.slurm, pipekit.contrib.slurm\n"
            "from pipekit.tasks import RunOnceTask\n"
            "assert pipekit.slurm is pipekit.contrib.slurm\n"
            "assert sys.modules['pipekit.slurm'] is sys.modules['pipekit.contrib.slurm']\n"
            "assert pipekit.contrib.slurm.__spec__.name == 'pipekit.contrib.slurm'\n"
            "assert RunOnceTask.__module__ == 'pipekit.contrib.tasks'\n"
            "try:\n    import pipekit.nosuchthing\nexcept ModuleNotFoundError as e:\n"
            "    print('missing', e.name)\n")
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "missing pipekit.nosuchthing"


def test_a_pipekit_attribute_names_a_contrib_package_without_loading_it_first():
    import pipekit

    assert pipekit.pandas is law.contrib.load("pandas")
    with pytest.raises(AttributeError):
        pipekit.nosuchthing  # noqa: B018
