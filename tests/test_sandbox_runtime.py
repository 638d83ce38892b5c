"""
What a sandbox gets from the host to run ``pipekit run``: the forwarded packages, the task's
code location and the bootstrap that puts them on ``sys.path``.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from sandbox_helpers import write

import pipekit
from pipekit.errors import SandboxError
from pipekit.sandbox.runtime import (
    BOOTSTRAP_FAILED,
    bootstrap_command,
    code_location,
    forwarded_packages,
    link_dir,
)


def test_forwarded_packages_are_pipekit_then_luigi_and_what_it_needs():
    first, last = forwarded_packages()
    assert first == [os.path.dirname(pipekit.__file__)]
    names = {os.path.basename(p).removesuffix(".py") for p in last}
    assert {"luigi", "tornado", "dateutil", "six", "daemon", "tenacity"} <= names
    # nothing the task did not ask for: test tools, other extras, the docker SDK
    assert not names & {"pytest", "numpy", "docker", "yaml", "pipekit"}


def test_link_dir_holds_exactly_the_given_packages_and_is_reused(home):
    _, last = forwarded_packages()
    d = link_dir(last, "luigi")
    assert sorted(os.listdir(d)) == sorted(os.path.basename(p) for p in last)
    assert os.path.realpath(os.path.join(d, "luigi")) == os.path.realpath(
        next(p for p in last if p.endswith("luigi"))
    )
    assert link_dir(last, "luigi") == d


def test_code_location_of_packages_and_top_level_modules(tmp_path, monkeypatch):
    from pipekit.sandbox.base import SandboxTask

    loc = code_location(SandboxTask)
    assert loc.module == "pipekit.sandbox.base"
    assert loc.entry == os.path.dirname(pipekit.__file__) and loc.root == os.path.dirname(loc.entry)

    write(
        tmp_path / "flat_tasks_mod.py",
        "import pipekit as law\nclass Flat(law.SandboxTask):\n    pass\n",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    import flat_tasks_mod

    loc = code_location(flat_tasks_mod.Flat)
    assert (loc.root, loc.entry, loc.in_site_packages) == (
        str(tmp_path),
        str(tmp_path / "flat_tasks_mod.py"),
        False,
    )

    main_cls = type("InScript", (), {"__module__": "__main__"})
    with pytest.raises(
        SandboxError, match=r"InScript is defined in the script being executed \(__main__\)"
    ):
        code_location(main_cls)


def test_bootstrap_runs_pipekit_or_says_why_it_cannot(tmp_path):
    proc = subprocess.run(
        bootstrap_command([sys.executable], [], [], ["--version"]),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0 and proc.stdout.startswith("pipekit ")

    # -S: no site-packages, so no pipekit; the bootstrap explains instead of a traceback
    proc = subprocess.run(
        bootstrap_command([sys.executable, "-S"], [], [], ["--version"]),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert proc.returncode == BOOTSTRAP_FAILED
    assert proc.stderr.startswith(
        f"pipekit sandbox: cannot import pipekit and luigi with {sys.executable} (Python "
    )
