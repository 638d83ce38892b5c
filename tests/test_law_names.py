"""
Every public name of law 0.1.21's contrib packages and of ``law.util`` exists in pipekit.

The lists are data (``tests/data/law_names.json``), generated from law's own source by
``tests/data/generate_law_names.py``; nothing of law is copied.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import pipekit as law

DATA = json.loads((Path(__file__).parent / "data" / "law_names.json").read_text())

def test_the_data_lists_all_thirty_contrib_packages_of_law():
    assert DATA["law_version"] == "0.1.21"
    assert len(DATA["contrib"]) == 30
    assert {"arc", "awkward", "cms", "root", "pyarrow", "tensorflow", "wlcg"} <= set(DATA["contrib"])


@pytest.mark.parametrize("package", sorted(DATA["contrib"]))
def test_contrib_load_accepts_every_package_name_of_law(package):
    module = law.contrib.load(package)
    assert getattr(law, package) is module
    assert package in law.contrib.available()


@pytest.mark.parametrize("package, name", [
    (p, n) for p, names in sorted(DATA["contrib"].items()) for n in names])
def test_every_public_name_of_a_law_contrib_package_exists(package, name):
    module = law.contrib.load(package)
    assert getattr(module, name) is not None
    assert name in module.__all__


@pytest.mark.parametrize("name", DATA["util"])
def test_every_public_name_of_law_util_exists(name):
    assert hasattr(law.util, name)
    assert name in law.util.__all__


@pytest.mark.parametrize("name", DATA["top_level"])
def test_every_top_level_name_of_law_exists(name):
    assert getattr(law, name) is not None


def test_columnflows_contrib_load_line_works():
    # columnflow's package __init__
    names = ("arc", "awkward", "git", "pyarrow", "root", "cms")
    mods = law.contrib.load(*names)
    assert [m.__name__ for m in mods] == [f"pipekit.contrib.{n}" for n in names]


def test_loading_every_package_imports_no_optional_library(tmp_path):
    # loading must work without the optional libraries: they are imported on first use only
    names = list(DATA["contrib"])
    code = (
        "import sys, pipekit as law\n"
        f"law.contrib.load(*{names!r})\n"
        "heavy = ['uproot', 'awkward', 'coffea', 'h5py', 'pyarrow', 'keras', 'tensorflow', "
        "'torch', 'ROOT', 'rich', 'line_profiler', 'numpy', 'pandas', 'matplotlib']\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=tmp_path, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
