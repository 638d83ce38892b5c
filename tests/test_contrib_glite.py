"""law.glite: the names load; --workflow glite fails in one line before anything runs."""

from __future__ import annotations

import pytest

import pipekit as law
from pipekit.errors import NotSupportedError


def test_glite_job_classes_raise_naming_the_replacements():
    law.contrib.load("glite")
    for cls in (law.glite.GLiteJobManager, law.glite.GLiteJobFileFactory):
        with pytest.raises(NotSupportedError, match="gLite WMS is retired.*--workflow arc"):
            cls()


def test_workflow_glite_on_the_command_line_is_one_line_and_exit_2(tmp_path):
    import subprocess
    import sys

    (tmp_path / "wf.py").write_text(
        "import pipekit as law\nlaw.contrib.load('glite')\n"
        "class W(law.LocalWorkflow, law.glite.GLiteWorkflow):\n"
        "    def create_branch_map(self):\n        return [0]\n"
        "    def output(self):\n        return law.LocalFileTarget('out.txt')\n"
        "    def run(self):\n        self.output().dump('x', formatter='text')\n")
    env_cfg = tmp_path / "law.cfg"
    env_cfg.write_text("[core]\n")
    proc = subprocess.run([sys.executable, "-m", "pipekit.cli.main", "run", "wf.W",
                           "--workflow", "glite"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0
    assert "--workflow glite (GLiteWorkflow) is not supported by pipekit" in proc.stderr
    assert not (tmp_path / "out.txt").exists()
