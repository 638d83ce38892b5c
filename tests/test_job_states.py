"""State vocabularies (pipekit.job.states): native names to status and failure reason."""

from __future__ import annotations

import pytest

from pipekit.batch.slurm import SLURM_STATES
from pipekit.job.states import StateVocabulary, reason_of_signal, signal_exit_code, signal_name


@pytest.mark.parametrize("native, status, reason", [
    ("OUT_OF_MEMORY", "failed", "oom"), ("TIMEOUT", "failed", "walltime"),
    ("CANCELLED by 0", "failed", "cancelled"), ("NODE_FAIL", "failed", "node_failure"),
    ("PREEMPTED", "failed", "preempted"), ("FAILED", "failed", "exit_code"),
    ("COMPLETED", "finished", None), ("RUNNING", "running", None), ("NEW_STATE", None, None),
])
def test_slurm_states_give_status_and_reason(native, status, reason):
    assert (SLURM_STATES.status(native), SLURM_STATES.reason(native)) == (status, reason)


def test_a_table_with_a_status_or_reason_outside_the_vocabulary_is_refused():
    with pytest.raises(ValueError, match="not a pipekit job status"):
        StateVocabulary("X", {"gone": {"GONE": None}})
    with pytest.raises(ValueError, match="not a failure reason"):
        StateVocabulary("X", {"failed": {"BAD": "bad luck"}})


def test_signals_read_as_shells_write_them():
    assert signal_exit_code(9) == 137
    assert signal_name(137) == "SIGKILL" and signal_name(1) is None
    assert reason_of_signal(143) == "cancelled" and reason_of_signal(1) == "exit_code"
    assert reason_of_signal(0) is None
