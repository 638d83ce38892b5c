"""
Reading what HTCondor says about jobs (pipekit.batch.htcondor_status), on ``condor_q -json`` and
``condor_history -json`` output shaped as HTCondor prints it: a JSON array of job ads with the
attributes of the job ClassAd reference (JobStatus 1 idle, 2 running, 3 removed, 4 completed,
5 held, 6 transferring output, 7 suspended; ExitCode, ExitBySignal, ExitSignal, HoldReason,
HoldReasonCode, HoldReasonSubCode, RemoveReason, LastHoldReason), and nothing at all when no job
matched. Constraints are evaluated by the official ``classad`` library.
"""

from __future__ import annotations

import random
import warnings

import pytest

from pipekit.batch import htcondor_status as st
from pipekit.errors import JobError
from pipekit.job.base import FAILED, FINISHED, PENDING, RUNNING, UNKNOWN

pytestmark = pytest.mark.htcondor


def condor_json(*ads: dict) -> str:
    """Ads laid out as ``condor_q -json`` prints them (objects separated by a line ``,``)."""
    import json

    return "[\n" + "\n,\n".join(json.dumps(ad, indent=2) for ad in ads) + "\n]\n"


def one(**attrs) -> st.JobState:
    ads = st.parse_ads(condor_json({"ClusterId": 4711, "ProcId": 3, **attrs}))
    return st.job_state(ads[0], "condor_q")


@pytest.mark.parametrize("code, status", [
    (0, PENDING), (1, PENDING), (2, RUNNING), (3, FAILED), (4, FINISHED), (5, FAILED),
    (6, RUNNING), (7, RUNNING),
])
def test_every_documented_job_status_maps_to_the_status_model(code, status):
    state = one(JobStatus=code, ExitCode=0, ExitBySignal=False)
    assert (state.job_id, state.status, state.source) == ("4711.3", status, "condor_q")


def test_a_completed_job_is_judged_by_its_exit_code_or_signal():
    assert one(JobStatus=4, ExitCode=0, ExitBySignal=False).status == FINISHED
    failed = one(JobStatus=4, ExitCode=3, ExitBySignal=False)
    assert (failed.status, failed.code) == (FAILED, 3)
    killed = one(JobStatus=4, ExitBySignal=True, ExitSignal=9)
    assert (killed.status, killed.code, killed.error) == (FAILED, 137, "killed by SIGKILL")


def test_hold_reason_and_code_make_the_error_of_a_held_job():
    held = one(JobStatus=5, HoldReason="Error from slot1@node7: memory usage exceeded "
               "request_memory", HoldReasonCode=34, HoldReasonSubCode=0)
    assert held.status == FAILED
    assert held.error == ("held by HTCondor: Error from slot1@node7: memory usage exceeded "
                          "request_memory (hold code 34)")
    assert st.is_held({"JobStatus": 5}) and not st.is_held({"JobStatus": 2})


def test_removed_job_names_the_remove_reason_and_an_earlier_hold():
    removed = one(JobStatus=3, RemoveReason="via condor_rm (by user alice)",
                  LastHoldReason="Failed to transfer files")
    assert removed.status == FAILED
    assert removed.error == ("removed from HTCondor: via condor_rm (by user alice) "
                             "(held before: Failed to transfer files)")
    assert one(JobStatus=3, RemoveReason=None).error == "removed from HTCondor: no reason given"


def test_unknown_job_status_is_unknown_so_the_exit_status_file_decides():
    state = one(JobStatus=42)
    assert state.status == UNKNOWN and "42" in state.error


def test_no_output_means_no_matching_jobs_and_garbage_is_a_job_error():
    assert st.parse_ads("") == [] and st.parse_ads("\n") == []
    assert st.parse_ads("[]") == []
    with pytest.raises(JobError, match="cannot read the JSON output of condor_history"):
        st.parse_ads("-- Schedd: sched1 : <10.0.0.1:9618?...\n", "condor_history")


def test_job_ids_are_cluster_dot_proc():
    assert st.parse_job_id("4711.3") == (4711, 3)
    assert st.parse_job_id("4711_3") is None and st.parse_job_id("") is None
    assert st.ad_job_id({"ClusterId": 12, "ProcId": 0}) == "12.0"
    assert st.ad_job_id({"ClusterId": 12}) is None


@pytest.fixture(scope="module")
def classad(htcondor_bindings):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the bindings warn that no condor_config exists
        import classad

    return classad


def matching(classad, constraint: str, ids: list[str]) -> set[str]:
    expr = classad.ExprTree(constraint)
    out = set()
    for job_id in ids:
        c, p = st.parse_job_id(job_id)
        if expr.eval(classad.ClassAd({"ClusterId": c, "ProcId": p})) is True:
            out.add(job_id)
    return out


def test_job_constraint_selects_exactly_the_asked_jobs_in_the_classad_library(classad):
    everything = [f"{c}.{p}" for c in (100, 101, 250) for p in range(40)]
    rng = random.Random(7)
    for _ in range(20):
        wanted = set(rng.sample(everything, rng.randint(1, 60)))
        assert matching(classad, st.jobs_constraint(wanted), everything) == wanted
    assert matching(classad, st.clusters_constraint([101, 250]), everything) == {
        i for i in everything if not i.startswith("100.")}


def test_constraint_of_thirty_thousand_jobs_stays_one_short_argument(classad):
    wanted = [f"7.{p}" for p in range(30000) if p != 15000]
    constraint = st.jobs_constraint(wanted)
    assert len(constraint) < 120  # ranges, not 30000 terms (a Linux argument is at most 128 KiB)
    assert matching(classad, constraint, ["7.0", "7.14999", "7.15000", "7.29999", "8.1"]) == {
        "7.0", "7.14999", "7.29999"}


def test_jobs_a_factory_has_not_created_yet_are_waiting():
    factories = st.factory_progress(st.parse_ads(condor_json(
        {"ClusterId": 20, "JobMaterializeNextProcId": 5, "TotalSubmitProcs": 100})))
    assert factories == {20: (5, 100)}
    assert st.unmaterialized(["20.4", "20.5", "20.99", "21.50"], factories) == {"20.5", "20.99"}


def test_cancelling_every_queued_job_of_a_cluster_removes_the_cluster():
    args, stuck = st.removal_plan(["5.0", "5.1", "5.2"], {5: {1, 2}}, {})
    assert (args, stuck) == (["5"], [])


def test_cancelling_some_jobs_of_a_cluster_names_them_and_skips_ended_ones():
    args, stuck = st.removal_plan(["5.1", "5.7"], {5: {1, 2, 3}}, {})
    assert (args, stuck) == (["5.1"], [])  # 5.7 already left the queue
    assert st.removal_plan(["5.7"], {}, {}) == ([], [])


def test_cancelling_a_throttled_cluster_also_stops_its_factory():
    # queued 3 and 4; 5..9 not created yet; all requested: the cluster id stops the factory
    requested = [f"9.{p}" for p in range(3, 10)]
    assert st.removal_plan(requested, {9: {3, 4}}, {9: (5, 10)}) == (["9"], [])
    # only the queued ones requested: the rest of the factory may go on
    assert st.removal_plan(["9.3", "9.4"], {9: {3, 4}}, {9: (5, 10)}) == (["9.3", "9.4"], [])
    # some not-created jobs requested, others not: those cannot be removed alone
    assert st.removal_plan(["9.3", "9.6"], {9: {3, 4}}, {9: (5, 10)}) == (["9.3"], ["9.6"])


def test_condor_submit_output_gives_the_cluster_and_job_count():
    plain = "Submitting job(s)..........\n10 job(s) submitted to cluster 4711.\n"
    assert st.parse_submit_output(plain) == (10, 4711)
    assert st.parse_submit_output("4711.0 - 4711.9\n") == (10, 4711)
    assert st.parse_submit_output("ERROR: on Line 3 of submit file") is None


def test_version_is_read_from_the_condor_version_line(htcondor_bindings):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import htcondor

    # the bindings report their version in the format condor_version prints
    version = st.parse_version(htcondor.version())
    assert version is not None and version[0] >= 8
    assert st.parse_version("$CondorVersion: 10.0.9 Sep 28 2023 BuildID: 678271 $\n"
                            "$CondorPlatform: x86_64_AlmaLinux9 $") == (10, 0, 9)
    assert st.parse_version("condor_version: command not found") is None


def test_jobs_scattered_over_a_large_cluster_are_split_over_constraints_of_bounded_size(classad):
    scattered = [f"3.{p}" for p in range(0, 60000, 2)] + [f"9.{p}" for p in range(10)]
    chunks = st.jobs_constraints(scattered, max_chars=20000)
    assert len(chunks) > 1 and all(len(c) <= 20000 for c, _ in chunks)
    assert sum(n for _, n in chunks) == len(scattered)
    probe = ["3.0", "3.1", "3.59998", "3.59999", "9.9", "9.10"]
    found = set().union(*(matching(classad, c, probe) for c, _ in chunks))
    assert found == {"3.0", "3.59998", "9.9"}
    assert len(st.jobs_constraints(scattered)[0][0]) <= st.MAX_CONSTRAINT


DATA = __import__("pathlib").Path(__file__).parent / "data" / "htcondor"


def states_in(name: str, source: str) -> dict[str, st.JobState]:
    """The states of the ads in tests/data/htcondor/<name> (see its README)."""
    ads = st.parse_ads((DATA / name).read_text(), source)
    return {s.job_id: s for s in (st.job_state(ad, source) for ad in ads)}


def test_hold_codes_of_held_jobs_give_the_failure_reason():
    states = states_in("condor_q_held.json", "condor_q")
    reasons = {job_id: (s.status, s.reason) for job_id, s in states.items()}
    assert reasons == {
        "4711.0": (FAILED, "oom"),           # 34 JobOutOfResources: the cgroup memory limit
        "4711.1": (FAILED, "walltime"),      # 46 JobDurationExceeded
        "4711.2": (FAILED, "oom"),           # 3 a periodic_hold about memory
        "4711.3": (FAILED, "walltime"),      # 26 a system periodic hold about runtime
        "4711.4": (FAILED, "node_failure"),  # 13 input transfer failed: not the job's fault
        "4711.5": (FAILED, "cancelled"),     # 1 condor_hold by a user
        "4711.6": (FAILED, "exit_code"),     # 34 with subcode 104: disk, not memory
        "4711.7": (FAILED, "exit_code"),     # 3 a periodic_hold about something else
    }
    assert "hold code 34" in states["4711.0"].error and "cgroup memory limit" in states["4711.0"].error


def test_ended_jobs_in_the_history_give_the_failure_reason():
    states = states_in("condor_history_ended.json", "condor_history")
    reasons = {job_id: (s.status, s.reason, s.code) for job_id, s in states.items()}
    assert reasons == {
        "4712.0": (FAILED, "oom", None),         # removed by a pool policy after a memory hold
        "4712.1": (FAILED, "cancelled", None),   # condor_rm
        "4712.2": (FAILED, "exit_code", 1),      # ExitCode 1
        "4712.3": (FAILED, "exit_code", 137),    # ExitSignal 9
        "4712.4": (FINISHED, None, 0),
    }


@pytest.mark.parametrize("code, sub, text, reason", [
    (34, 0, "Job has gone over memory limit of 2048 megabytes.", "oom"),
    (21, 102, "startd held the job: memory", "oom"),
    (47, 0, "The job exceeded allowed execute duration of 1:00:00", "walltime"),
    (12, 2, "Error from slot1: failed to send file(s) ...", "node_failure"),
    (None, None, "held for ResidentSetSize above RequestMemory", "oom"),
    (99, 0, "a code HTCondor may add one day", "exit_code"),
])
def test_hold_reason_mapping(code, sub, text, reason):
    assert st.hold_reason(code, sub, text) == reason
