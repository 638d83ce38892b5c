"""
What the array backends share (pipekit.job.arrays): task ids and index lists of Slurm, Grid
Engine and LSF, and the poll chain of ArrayJobManager — queue listing, accounting only while
the cluster has it, the fallback after a failed listing, a timeout as a failed poll — shown
with a small in-memory batch system, since the chain itself talks to no command.
"""

from __future__ import annotations

import pytest

from pipekit.errors import CommandError, JobError
from pipekit.job.arrays import ArrayIds, ArrayJobManager, expand_index_list
from pipekit.job.base import FAILED, FINISHED, RUNNING, JobState, SubmissionPlan


@pytest.mark.parametrize("text, indices", [
    ("1-3,7", [1, 2, 3, 7]), ("2-10:4", [2, 6, 10]), ("[1-5%2]", [1, 2, 3, 4, 5]),
    ("3", [3]), ("3,x,5", [3, 5]), ("", []),
])
def test_compressed_index_lists_expand(text, indices):
    assert expand_index_list(text) == indices


@pytest.mark.parametrize("ids, job_id, split", [
    (ArrayIds("_", first_index=0), "12_3", ("12", 3)),
    (ArrayIds(".", first_index=1), "12.4", ("12", 4)),
    (ArrayIds("[", "]", first_index=1), "12[4]", ("12", 4)),
    (ArrayIds("[", "]", first_index=1), "12", ("12", None)),
])
def test_task_ids_are_written_and_split_per_batch_system(ids, job_id, split):
    assert ids.split(job_id) == split
    if split[1] is not None:
        assert ids.job_id(*split) == job_id


def test_plan_positions_map_to_the_systems_first_index():
    plan = SubmissionPlan("t", "/d", [5, 6, 7], "pk_x", "/", first_index=1)
    lsf = ArrayIds("[", "]", first_index=1)
    assert lsf.ids("9", 3) == ["9[1]", "9[2]", "9[3]"]
    assert lsf.index_range(plan) == (1, 3)
    assert ArrayIds("_").index_range(SubmissionPlan("t", "/d", [5], "pk_x", "/")) == (0, 0)
    assert lsf.arrays(["10[1]", "9[2]", "10[3]"]) == ["9", "10"]


class Memory(ArrayJobManager):
    """An in-memory batch system: *queue* lists tasks, *accounting* knows ended ones."""

    batch_system = "Memory"
    ids = ArrayIds(".", first_index=1)

    def __init__(self, queue=None, accounting=None, queue_error=None, fallback=None):
        super().__init__()
        self.queue, self.accounting, self.queue_error = queue or {}, accounting, queue_error
        self.fallback = fallback
        self.calls: list[str] = []

    def submit_command(self, plan, script, config):
        return ["memsub", script]

    def parse_submit_output(self, stdout):
        return None

    def query_queue(self, arrays):
        self.calls.append("queue")
        if self.queue_error == "timeout":
            raise CommandError(["memq"], None, "", reason="timed out after 60 s")
        if self.queue_error:
            return {}, self.queue_error
        return {i: JobState(i, RUNNING) for i in self.queue if self.ids.array(i) in arrays}, None

    def query_accounting(self, arrays):
        self.calls.append("accounting")
        self.accounting_answered(self.accounting is not None)
        return {i: JobState(i, FINISHED) for i in (self.accounting or [])}

    def query_fallback(self, arrays, queue_error):
        if self.fallback is None:
            return super().query_fallback(arrays, queue_error)
        self.calls.append("fallback")
        return {i: JobState(i, FAILED) for i in self.fallback}

    def find_in_queue(self, job_name):
        return []

    def cancel_command(self, job_ids):
        return ["memdel", *job_ids]


def test_accounting_is_asked_only_for_tasks_the_queue_no_longer_lists():
    m = Memory(queue=["1.1"], accounting=["1.2"])
    states = m.query(["1.1", "1.2"])
    assert {i: s.status for i, s in states.items()} == {"1.1": RUNNING, "1.2": FINISHED}
    assert m.calls == ["queue", "accounting"]
    m.calls.clear()
    m.query(["1.1"])
    assert m.calls == ["queue"]


def test_a_cluster_without_accounting_is_not_asked_again():
    m = Memory(queue=[], accounting=None)
    assert m.query(["1.1"]) == {}
    assert m.query(["1.1"]) == {}
    assert m.calls == ["queue", "accounting", "queue"]


def test_a_failed_listing_asks_the_fallback_and_without_one_fails_the_poll():
    m = Memory(queue_error="qmaster down", accounting=None, fallback=["1.1"])
    assert m.query(["1.1"])["1.1"].status == FAILED
    with pytest.raises(JobError, match="Memory status query failed: qmaster down"):
        Memory(queue_error="qmaster down", accounting=None).query(["1.1"])


def test_a_timed_out_command_is_a_failed_poll_not_a_crash():
    with pytest.raises(JobError, match="timed out after 60 s"):
        Memory(queue_error="timeout").query(["1.1"])


def test_ids_outside_the_question_are_not_answered():
    m = Memory(queue=["1.1", "1.2", "2.1"])
    assert set(m.query(["1.1"])) == {"1.1"}
