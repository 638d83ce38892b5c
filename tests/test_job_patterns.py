"""Paths given to batch systems stay literal: their filename patterns are escaped or refused."""

from __future__ import annotations

import pytest

from pipekit.errors import UsageError
from pipekit.job.base import SubmissionPlan
from pipekit.job.patterns import literal_path, per_job_path


def plan(directory: str) -> SubmissionPlan:
    return SubmissionPlan(tag="t", directory=directory, job_nums=[0, 1], job_name="pk_t", cwd="/")


def test_slurm_log_path_keeps_its_array_index_and_doubles_every_other_percent():
    log = per_job_path(plan("/data/run_%j/100%").log_file, "%a", "slurm", "job directory")
    assert log == "/data/run_%%j/100%%/log_%a.txt"


def test_htcondor_dollars_become_the_dollar_macro_and_the_index_macro_stays():
    path = per_job_path(plan("/d/$(Cluster)").log_file, "$(pk_index)", "htcondor")
    assert path == "/d/$(DOLLAR)(Cluster)/log_$(pk_index).txt"


def test_lsf_and_sge_refuse_the_patterns_they_cannot_escape_and_name_the_path():
    assert literal_path("/d/100%/x", "lsf") == "/d/100%/x"  # only %J and %I are LSF's
    with pytest.raises(UsageError, match=r"job directory /d/run_%J .*'%J'.*LSF"):
        literal_path("/d/run_%J", "lsf", "job directory")
    assert literal_path("/d/$HOMEWORK/$x", "sge") == "/d/$HOMEWORK/$x"
    with pytest.raises(UsageError, match=r"'\$TASK_ID'.*SGE"):
        per_job_path(plan("/d/$TASK_ID").log_file, "$TASK_ID", "sge")


def test_an_unknown_batch_system_is_a_programming_error():
    with pytest.raises(ValueError, match="unknown batch system 'pbs'"):
        literal_path("/x", "pbs")
