"""Fixtures shared by the Slurm integration tests (helpers: ``slurm_helpers``)."""

from __future__ import annotations

import pytest
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
