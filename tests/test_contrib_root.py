"""law.root: import_ROOT, hadd_task and the formatters' registration."""

from __future__ import annotations

import shutil

import pytest

import pipekit as law


def test_hadd_task_without_root_names_what_is_missing(tmp_path, monkeypatch):
    if shutil.which("hadd"):
        pytest.skip("ROOT's hadd is installed here")
    law.contrib.load("root")
    for i in range(2):
        (tmp_path / f"in{i}.root").write_bytes(b"")

    class Merge(law.Task):
        def run(self):
            pass

    with pytest.raises(Exception, match="needs ROOT's 'hadd' on PATH"):
        law.root.hadd_task(Merge(), [str(tmp_path / "in0.root"), str(tmp_path / "in1.root")],
                           str(tmp_path / "out.root"), local=True)
    assert not (tmp_path / "out.root").exists()


def test_hadd_task_of_one_input_copies_it(tmp_path):
    law.contrib.load("root")
    (tmp_path / "only.root").write_bytes(b"root bytes")

    class Merge(law.Task):
        def run(self):
            pass

    law.root.hadd_task(Merge(), [str(tmp_path / "only.root")], str(tmp_path / "out.root"))
    assert (tmp_path / "out.root").read_bytes() == b"root bytes"


def test_loading_root_makes_root_files_use_laws_first_root_formatter():
    from pipekit.target.formatter import find_formatter

    law.contrib.load("root")
    assert find_formatter("f.root", "load").name == "root"  # law's order: root before uproot
    assert find_formatter("f.root", "load", "uproot").name == "uproot"
