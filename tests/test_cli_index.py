"""
``pipekit index`` and running tasks by family name through the index, including the automatic
re-indexing when a module file or ``[modules]`` in law.cfg changes (real subprocesses).
"""

from __future__ import annotations

import os

import pytest
from cli_helpers import TASKS, run_cli, write


@pytest.fixture
def work(tmp_path):
    work = tmp_path / "work"
    write(work / "mytasks.py", TASKS)
    write(work / "law.cfg", "[modules]\nmytasks\n")
    return work


def _touch_later(path):
    # a different mtime even on file systems with coarse timestamps
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))


def test_index_lists_the_families_of_modules_and_run_finds_them(work):
    res = run_cli(["index", "--verbose"], work)
    assert res.returncode == 0, res.stderr
    assert "module 'mytasks', 4 task(s):" in res.stdout
    index = (work / ".law" / "index").read_text()
    assert "mytasks:TimesTwo:n" in index
    res = run_cli(["run", "TimesTwo", "--n", "4"], work)
    assert res.returncode == 0, res.stderr
    assert (work / "data" / "n4.json").exists()


def test_run_by_family_builds_a_missing_index_itself(work):
    res = run_cli(["run", "Upstream", "--n", "2"], work)
    assert res.returncode == 0, res.stderr
    assert (work / ".law" / "index").exists()
    assert (work / "data" / "up2.txt").read_text() == "2"


def test_a_new_task_in_an_indexed_module_is_found_without_reindexing(work):
    assert run_cli(["index"], work).returncode == 0
    with open(work / "mytasks.py", "a") as f:
        f.write(
            "\n\nclass Added(law.Task):\n"
            "    def output(self):\n"
            "        return law.LocalFileTarget('data/added.txt')\n\n"
            "    def run(self):\n"
            "        self.output().dump('new', formatter='text')\n"
        )
    _touch_later(work / "mytasks.py")
    res = run_cli(["run", "Added"], work)
    assert res.returncode == 0, res.stderr
    assert (work / "data" / "added.txt").read_text() == "new"
    assert "mytasks:Added" in (work / ".law" / "index").read_text()


def test_a_module_added_to_law_cfg_is_indexed_on_the_next_run(work):
    assert run_cli(["index"], work).returncode == 0
    write(
        work / "more.py",
        """
        import pipekit as law

        class Extra(law.Task):
            def output(self):
                return law.LocalFileTarget("data/extra.txt")

            def run(self):
                self.output().dump("extra", formatter="text")
    """,
    )
    write(work / "law.cfg", "[modules]\nmytasks\nmore\n")
    res = run_cli(["run", "Extra"], work)
    assert res.returncode == 0, res.stderr
    assert (work / "data" / "extra.txt").read_text() == "extra"


def test_unknown_family_suggests_close_indexed_names(work):
    res = run_cli(["run", "TimesTwoo"], work)
    assert res.returncode == 2
    assert "unknown task 'TimesTwoo'; did you mean TimesTwo?" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


def test_a_broken_module_in_modules_is_named(work):
    write(work / "law.cfg", "[modules]\nmytasks\nbroken_mod\n")
    write(work / "broken_mod.py", "import no_such_dependency\n")
    res = run_cli(["index"], work)
    assert res.returncode == 2
    assert "[modules] lists 'broken_mod', but importing it failed" in res.stderr
    assert "no_such_dependency" in res.stderr and "Traceback" not in res.stderr


def test_index_location_show_and_remove(work):
    res = run_cli(["index", "--location"], work)
    assert res.stdout.strip() == str(work / ".law" / "index")
    res = run_cli(["index", "--show"], work)
    assert "    - Downstream" in res.stdout and "written 4 task(s)" in res.stdout
    res = run_cli(["index", "--remove"], work)
    assert res.returncode == 0 and not (work / ".law" / "index").exists()


ABSTRACT = '''
import luigi

import pipekit as law


class AnalysisBase(law.Task):
    """A base class of the analysis: parameters, no run()."""

    version = luigi.Parameter(default="v1")


class Task(AnalysisBase):
    """Named like pipekit's own Task, as analyses often do."""

    def output(self):
        return law.LocalFileTarget("data/task_" + self.version + ".txt")

    def run(self):
        self.output().dump("ran", formatter="text")


class BaseWf(law.LocalWorkflow):
    def create_branch_map(self):
        return [0]


class Inputs(law.ExternalTask):
    def output(self):
        return law.LocalFileTarget("data/inputs.txt")
'''


def test_index_skips_tasks_without_a_run_of_their_own_as_law_does(tmp_path):
    work = tmp_path / "work"
    write(work / "ana.py", ABSTRACT)
    write(work / "law.cfg", "[modules]\nana\n")
    res = run_cli(["index", "--verbose"], work)
    assert res.returncode == 0, res.stderr
    families = sorted(line.split(":")[1] for line in (work / ".law" / "index").read_text().split()
                      if line.startswith("ana:"))
    assert families == ["Inputs", "Task"]  # AnalysisBase and BaseWf have nothing to run


def test_a_family_of_the_analysis_wins_over_pipekits_own_class_of_that_name(tmp_path):
    work = tmp_path / "work"
    write(work / "ana.py", ABSTRACT)
    write(work / "law.cfg", "[modules]\nana\n")
    res = run_cli(["run", "Task", "--version", "v2"], work)
    assert res.returncode == 0, res.stderr
    assert (work / "data" / "task_v2.txt").read_text() == "ran"
