"""
The outdated check as a user meets it (real ``pipekit run`` subprocesses): ``--print-status``
names outdated outputs and why, ``--rerun-outdated`` re-runs exactly those and their
dependents, touching an input makes only what is downstream outdated, and outputs made before
provenance was switched on are unknown, never outdated.
"""

from __future__ import annotations

import os
import re

import pytest
from cli_helpers import run_cli, write

PIPELINE = '''
import luigi

import pipekit as law


class Base(law.Task):
    def local(self, *parts):
        return law.LocalFileTarget("/".join(("data",) + parts))


class Raw(law.ExternalTask):
    def output(self):
        return law.LocalFileTarget("raw/numbers.txt")


class Select(Base, law.LocalWorkflow):
    """Branch i sums the numbers n >= lo with n % 4 == i."""

    lo = luigi.IntParameter(default=2)

    def create_branch_map(self):
        return {i: i for i in range(4)}

    def workflow_requires(self):
        return {"raw": Raw()}

    def requires(self):
        return Raw()

    def output(self):
        return self.local("select", f"sel_{self.branch}.txt")

    def run(self):
        numbers = [int(x) for x in self.input().load(formatter="text").split()]
        picked = [n for n in numbers if n % 4 == self.branch and n >= self.lo]
        self.output().dump(str(sum(picked)), formatter="text")


class Total(Base):
    lo = Select.lo

    def requires(self):
        return Select.req(self)

    def output(self):
        return self.local("total.txt")

    def run(self):
        parts = [int(t.load(formatter="text")) for t in self.input()["collection"].iter_targets()]
        self.output().dump(str(sum(parts)), formatter="text")


class Report(Base):
    lo = Select.lo

    def requires(self):
        return Total.req(self)

    def output(self):
        return self.local("report.txt")

    def run(self):
        self.output().dump("total: " + self.input().load(formatter="text"), formatter="text")


class Side(Base):
    def output(self):
        return self.local("side.txt")

    def run(self):
        self.output().dump("side", formatter="text")


class All(law.WrapperTask):
    lo = Select.lo

    def requires(self):
        return [Report.req(self), Side.req(self)]
'''

ON = "[core]\nprovenance: True\n[luigi_core]\nlocal_scheduler: True\n"
OFF = "[luigi_core]\nlocal_scheduler: True\n"


@pytest.fixture
def work(tmp_path):
    work = tmp_path / "work"
    write(work / "pipeline.py", PIPELINE)
    write(work / "raw" / "numbers.txt", " ".join(str(i) for i in range(20)))
    write(work / "law.cfg", ON)
    return work


@pytest.fixture
def done(work):
    res = run_cli(["run", "pipeline.All"], work)
    assert res.returncode == 0, res.stdout + res.stderr
    return work


def status(work, *extra):
    res = run_cli(["run", "pipeline.All", "--print-status", "-1", *extra], work)
    assert res.returncode == 0, res.stdout + res.stderr
    return res.stdout


def state(out: str, name: str) -> str:
    """The status line printed under the output whose path ends with *name*."""
    lines = out.splitlines()
    for i, line in enumerate(lines):
        if line.rstrip().endswith(f"/{name})"):
            return lines[i + 1].strip(" │")
    raise AssertionError(f"no output {name} in:\n{out}")


def branch_summary(out: str) -> list[str]:
    lines = out.splitlines()
    i = next(i for i, line in enumerate(lines) if "provenance:" in line)
    rest = [line.strip(" │") for line in lines[i + 1:]]
    return [lines[i].strip(" │")] + [r for r in rest if r.startswith(("outdated ", "unknown "))]


def edit(path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def mtimes(work) -> dict[str, int]:
    data = work / "data"
    return {str(p.relative_to(data)): p.stat().st_mtime_ns for p in data.rglob("*")
            if p.is_file() and not p.name.startswith(".")}


def test_a_fresh_run_reads_current_everywhere(done):
    out = status(done)
    for name in ("report.txt", "total.txt", "side.txt"):
        assert state(out, name) == "existent, current"
    assert branch_summary(out) == ["provenance: 0 outdated, 4 current, 0 unknown (of 4 present)"]
    # one record file per output directory, none per output
    assert sorted(p.name for p in (done / "data" / "select").iterdir()) == [
        ".pipekit-provenance", "sel_0.txt", "sel_1.txt", "sel_2.txt", "sel_3.txt"]


def test_changed_code_makes_the_task_and_its_dependents_outdated_and_rerun_redoes_exactly_them(done):
    before = mtimes(done)
    edit(done / "pipeline.py", 'str(sum(parts))', 'str(sum(parts) * 10)')  # Total.run
    out = status(done)
    assert state(out, "total.txt") == "existent, outdated: code changed (Total)"
    assert state(out, "report.txt") == "existent, outdated: input total.txt outdated"
    assert state(out, "side.txt") == "existent, current"
    assert branch_summary(out)[0].startswith("provenance: 0 outdated, 4 current")

    res = run_cli(["run", "pipeline.All", "--rerun-outdated"], done)
    assert res.returncode == 0, res.stdout + res.stderr
    ran = re.findall(r"^running (\w+)\(", res.stdout, flags=re.M)
    assert sorted(ran) == ["All", "Report", "Total"]
    after = mtimes(done)
    changed = sorted(k for k in after if after[k] != before[k])
    assert changed == ["report.txt", "total.txt"]
    assert (done / "data" / "report.txt").read_text() == f"total: {sum(range(2, 20)) * 10}"
    out = status(done)
    assert state(out, "total.txt") == "existent, current"
    assert state(out, "report.txt") == "existent, current"


def test_changed_branch_code_reruns_every_branch_and_everything_downstream(done):
    edit(done / "pipeline.py", "n >= self.lo]", "n >= self.lo and n != 5]")
    out = status(done)
    assert branch_summary(out) == [
        "provenance: 4 outdated, 0 current, 0 unknown (of 4 present)",
        "outdated 0-3: code changed (Select)",
    ]
    assert state(out, "total.txt").startswith("existent, outdated: input sel_0.txt outdated")
    res = run_cli(["run", "pipeline.All", "--rerun-outdated"], done)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "branches 0-3: removed (4 outdated)" in res.stdout
    assert "Select: running 4 of 4 branches" in res.stdout
    assert "running Side" not in res.stdout
    assert (done / "data" / "total.txt").read_text() == str(sum(range(2, 20)) - 5)


def test_touching_an_input_makes_only_what_is_downstream_outdated(done):
    sel = done / "data" / "select" / "sel_1.txt"
    st = sel.stat()
    os.utime(sel, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    out = status(done)
    assert branch_summary(out)[0] == "provenance: 0 outdated, 4 current, 0 unknown (of 4 present)"
    assert state(out, "total.txt") == "existent, outdated: input sel_1.txt newer"
    assert state(out, "report.txt") == "existent, outdated: input total.txt outdated"
    assert state(out, "side.txt") == "existent, current"

    before = mtimes(done)
    res = run_cli(["run", "pipeline.All", "--rerun-outdated"], done)
    assert res.returncode == 0, res.stdout + res.stderr
    after = mtimes(done)
    assert sorted(k for k in after if after[k] != before[k]) == ["report.txt", "total.txt"]


def test_a_changed_external_input_makes_the_branches_reading_it_outdated(done):
    write(done / "raw" / "numbers.txt", " ".join(str(i) for i in range(21)))
    out = status(done)
    assert branch_summary(out) == [
        "provenance: 4 outdated, 0 current, 0 unknown (of 4 present)",
        "outdated 0-3: input numbers.txt newer",
    ]
    assert state(out, "side.txt") == "existent, current"


def test_a_changed_parameter_default_is_named_with_old_and_new_value(done):
    edit(done / "pipeline.py", "lo = luigi.IntParameter(default=2)", "lo = luigi.IntParameter(default=3)")
    out = status(done)
    assert branch_summary(out)[1] == "outdated 0-3: parameter default changed (lo: 2 → 3)"
    assert state(out, "total.txt").startswith(
        "existent, outdated: parameter default changed (lo: 2 → 3)")
    assert state(out, "side.txt") == "existent, current"


def test_an_explicit_parameter_value_is_compared_with_the_recorded_one(done):
    out = status(done, "--lo", "4")
    # the outputs do not depend on lo in their paths: the ones there were made with lo=2
    assert branch_summary(out)[1] == "outdated 0-3: parameter lo changed (2 → 4)"
    assert state(out, "report.txt").startswith("existent, outdated: parameter lo changed (2 → 4)")


def test_comments_docstrings_and_formatting_do_not_make_code_outdated(done):
    edit(done / "pipeline.py", '    def run(self):\n        parts =',
         '    def run(self):\n        """Add up."""\n        # the branch sums\n        parts =')
    edit(done / "pipeline.py", "self.output().dump(str(sum(parts)), formatter=\"text\")",
         "self.output().dump(\n            str(sum(parts)),\n            formatter=\"text\",\n        )")
    out = status(done)
    assert state(out, "total.txt") == "existent, current"


def test_outputs_made_before_provenance_was_on_are_unknown_never_outdated(work):
    write(work / "law.cfg", OFF)
    res = run_cli(["run", "pipeline.All"], work)
    assert res.returncode == 0, res.stdout + res.stderr
    assert not list((work / "data").rglob(".pipekit-provenance"))
    write(work / "law.cfg", ON)
    edit(work / "pipeline.py", 'str(sum(parts))', 'str(sum(parts) * 10)')
    out = status(work)
    assert state(out, "total.txt") == "existent, unknown (no record)"
    assert branch_summary(out) == ["provenance: 0 outdated, 0 current, 4 unknown (of 4 present)",
                                   "unknown 0-3: no record"]
    before = mtimes(work)
    res = run_cli(["run", "pipeline.All", "--rerun-outdated"], work)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "removed" not in res.stdout
    assert mtimes(work) == before


def test_with_provenance_off_the_status_is_unchanged_and_rerun_outdated_says_why(done):
    write(done / "law.cfg", OFF)
    out = status(done)
    assert "provenance:" not in out and ", current" not in out
    assert state(out, "total.txt") == "existent"
    res = run_cli(["run", "pipeline.All", "--rerun-outdated"], done)
    assert res.returncode == 0
    assert "provenance is not recorded for these tasks" in res.stdout


def test_a_task_class_can_track_provenance_without_the_config(work):
    write(work / "law.cfg", OFF)
    edit(work / "pipeline.py", "class Side(Base):\n", "class Side(Base):\n    track_provenance = True\n")
    assert run_cli(["run", "pipeline.All"], work).returncode == 0
    assert (work / "data" / ".pipekit-provenance").exists()
    assert not (work / "data" / "select" / ".pipekit-provenance").exists()
    out = status(work)
    assert state(out, "side.txt") == "existent, current"
    assert state(out, "total.txt") == "existent"


def test_with_checksums_a_touched_but_unchanged_input_changes_nothing(work):
    write(work / "law.cfg", ON + "[provenance]\nchecksum: True\n")
    assert run_cli(["run", "pipeline.All"], work).returncode == 0
    raw = work / "raw" / "numbers.txt"
    st = raw.stat()
    os.utime(raw, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    out = status(work)
    assert branch_summary(out) == ["provenance: 0 outdated, 4 current, 0 unknown (of 4 present)"]
    raw.write_text(raw.read_text() + " 100")
    out = status(work)
    assert branch_summary(out)[1] == "outdated 0-3: input numbers.txt newer"


def test_remove_output_outdated_mode_removes_only_outdated_outputs_and_does_not_run(done):
    edit(done / "pipeline.py", 'str(sum(parts))', 'str(sum(parts) * 10)')
    res = run_cli(["run", "pipeline.All", "--remove-output", "-1,outdated"], done)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "running" not in res.stdout
    assert not (done / "data" / "total.txt").exists()
    assert not (done / "data" / "report.txt").exists()
    assert (done / "data" / "side.txt").exists()
    assert len(list((done / "data" / "select").glob("sel_*.txt"))) == 4


def test_rerun_outdated_and_remove_output_together_are_a_usage_error(done):
    res = run_cli(["run", "pipeline.All", "--rerun-outdated", "--remove-output", "0,a"], done)
    assert res.returncode == 2
    assert "give one of them" in res.stderr
    assert (done / "data" / "report.txt").exists()


def test_the_worked_example_of_the_docs_on_the_demo_analysis(tmp_path):
    """docs/provenance.md: change the demo's selection window, see what is outdated, re-run."""
    import shutil
    from pathlib import Path

    repo_root = Path(__file__).resolve().parent.parent
    repo = tmp_path / "repo"
    shutil.copytree(repo_root / "examples" / "demo", repo / "examples" / "demo",
                    ignore=shutil.ignore_patterns("data", ".law", "__pycache__"))
    shutil.copy(repo_root / "examples" / "__init__.py", repo / "examples")
    cfg = (repo_root / "law.cfg").read_text()  # the repository's config, provenance on
    (repo / "law.cfg").write_text(cfg.replace("[core]\n", "[core]\nprovenance: True\n", 1))
    args = ["run", "examples.demo.analysis.PlotMass", "--n-events", "500"]
    res = run_cli([*args, "--workers", "2"], repo, timeout=180)
    assert res.returncode == 0, res.stdout + res.stderr

    edit(repo / "examples" / "demo" / "analysis.py", "default=(60.0, 120.0)", "default=(70.0, 110.0)")
    res = run_cli([*args, "--print-status", "-1"], repo)
    out = res.stdout
    assert "outdated 0-7: parameter default changed (window: 60.0,120.0 → 70.0,110.0)" in out
    assert out.count("provenance: 0 outdated, 8 current") == 1  # GenerateEvents
    assert state(out, "mass.png") == ("existent, outdated: input merged.json outdated; "
                                      "input summary.txt outdated")

    events = repo / "examples" / "demo" / "data" / "v1" / "events"
    before = {p.name: p.stat().st_mtime_ns for p in events.glob("*.json")}
    res = run_cli([*args, "--rerun-outdated", "--workers", "2"], repo, timeout=180)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "SelectAndHistogram: running 8 of 8 branches" in res.stdout
    assert "running GenerateEvents" not in res.stdout
    assert {p.name: p.stat().st_mtime_ns for p in events.glob("*.json")} == before
    out = run_cli([*args, "--print-status", "-1"], repo).stdout
    assert out.count("provenance: 0 outdated, 8 current") == 2
    assert out.count("existent, current") == 3 and "existent, outdated" not in out
