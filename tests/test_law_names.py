"""
Every public name of law 0.1.21's contrib packages and of ``law.util`` exists in pipekit.

The lists are data (``tests/data/law_names.json``), generated from law's own source by
``tests/data/generate_law_names.py``; nothing of law is copied. Names that other wave-2 issues
build are marked ``built_by_other_issue`` until their branches are merged.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import pipekit as law

DATA = json.loads((Path(__file__).parent / "data" / "law_names.json").read_text())

#: names built on other branches of wave 2: (package, name or None for all) -> issue
OTHER_ISSUES = {
    ("git", None): 14,
    ("mercurial", None): 14,
}


def built_by_other_issue(package: str, name: str | None = None) -> list:
    issue = OTHER_ISSUES.get((package, name), OTHER_ISSUES.get((package, None)))
    if issue is None:
        return []
    return [pytest.mark.skip(reason=f"built_by_other_issue: law.{package}"
                                    f"{'.' + name if name else ''} comes with issue {issue}")]


def test_the_data_lists_all_thirty_contrib_packages_of_law():
    assert DATA["law_version"] == "0.1.21"
    assert len(DATA["contrib"]) == 30
    assert {"arc", "awkward", "cms", "root", "pyarrow", "tensorflow", "wlcg"} <= set(DATA["contrib"])


@pytest.mark.parametrize("package", [
    pytest.param(p, marks=built_by_other_issue(p)) for p in sorted(DATA["contrib"])])
def test_contrib_load_accepts_every_package_name_of_law(package):
    module = law.contrib.load(package)
    assert getattr(law, package) is module
    assert package in law.contrib.available()


@pytest.mark.parametrize("package, name", [
    pytest.param(p, n, marks=built_by_other_issue(p, n))
    for p, names in sorted(DATA["contrib"].items()) for n in names])
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


def test_columnflows_contrib_load_line_works_except_for_names_of_other_issues():
    # columnflow's package __init__: law.contrib.load("arc", "awkward", "git", "pyarrow", "root", "cms")
    mods = law.contrib.load("awkward", "pyarrow", "root", "cms")
    assert [m.__name__ for m in mods] == [f"pipekit.contrib.{n}" for n in ("awkward", "pyarrow", "root", "cms")]


def test_loading_every_package_imports_no_optional_library(tmp_path):
    # loading must work without the optional libraries: they are imported on first use only
    names = [p for p in DATA["contrib"] if (p, None) not in OTHER_ISSUES]
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
