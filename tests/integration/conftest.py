"""Fixtures shared by the Slurm and Grid Engine integration tests (helpers: ``slurm_helpers``,
``sge_helpers``)."""

from __future__ import annotations

import os

import pytest
import sge_helpers
from slurm_helpers import Shims, start_cluster


@pytest.fixture(scope="module")
def slurm_cluster(require_service):
    """The single-node cluster without accounting, started (or reconfigured) once per module."""
    reason = start_cluster(accounting=False)
    require_service("slurm", reason is None, reason or "")


@pytest.fixture
def shims(tmp_path):
    """PATH shims that log every Slurm command before running it."""
    return Shims(tmp_path / "shims")


@pytest.fixture
def out(tmp_path):
    """The output directory of the test's workflow."""
    return tmp_path / "out"


@pytest.fixture(scope="session")
def sge_cell(require_service):
    """
    The single-node Grid Engine of tests/infra/sge.sh, started once per session. A local
    session that started it stops it again at its end (a machine is left as it was found);
    in CI, .ci/run started it and it keeps running.
    """
    started = False
    if os.geteuid() == 0 and not sge_helpers.cell_running():
        reason = sge_helpers.infra("start")
        started = reason is None
    else:
        reason = None if sge_helpers.cell_running() else "tests/infra/sge.sh needs root"
    require_service("Grid Engine", reason is None, reason or "")
    yield
    if started and os.getenv("CI", "").lower() != "true":
        sge_helpers.infra("stop")


@pytest.fixture
def sge_shims(tmp_path):
    """PATH shims that log every qsub / qstat / qacct / qdel before running it."""
    return sge_helpers.shims_for(tmp_path / "shims")


@pytest.fixture(scope="module")
def arc_ce(grid_services):
    """The ARC CE of tests/infra/arc.sh (and the test CA), started once per module."""
    grid_services("gridca", "arc")


@pytest.fixture
def arc(arc_ce, request):
    """A fresh test directory for an ARC workflow (see ``arc_helpers.ArcRun``)."""
    from arc_helpers import ArcRun

    run = ArcRun(getattr(request, "param", ""))
    yield run
    run.cleanup()
