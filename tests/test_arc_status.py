"""
Reading the ARC client tools' output (pipekit.batch.arc_status): ``arcstat --json`` as ARC 6.17
prints it (captured from the real A-REX of tests/infra/arc.sh, including its missing outer
braces), ARC states mapped onto pipekit's statuses and failure reasons, arcsub's job ids, and
pipekit's ARC job names.
"""

from __future__ import annotations

import pytest

from pipekit.batch.arc_status import (
    failure_reason,
    job_name,
    map_arc_state,
    parse_arcstat_json,
    parse_arcsub_output,
    parse_job_name,
)

# arcstat -j jobs.dat -a -J -u of ARC 6.17 (ids shortened): a finished, a failed, a killed and an
# unavailable job (CE unreachable: state Undefined, no name)
ARCSTAT = '''"jobs": [
{
 "id": "https://localhost:8443/arex/rest/1.0/jobs/AAA",
 "name": "pk_Chars_e030895e3f3b_0",
 "state": "Finished",
 "exitCode": 0
},
{
 "id": "https://localhost:8443/arex/rest/1.0/jobs/BBB",
 "name": "pk_Chars_e030895e3f3b_1",
 "state": "Failed",
 "exitCode": 3,
 "jobError": [
"LRMS error: (3) Job finished with wrong exit code - 3 != 0"
]
},
{
 "id": "https://localhost:8443/arex/rest/1.0/jobs/CCC",
 "name": "pk_Chars_e030895e3f3b_2",
 "state": "Killed",
 "jobError": [
"Job is canceled by external request"
]
},
{
 "id": "https://localhost:8443/arex/rest/1.0/jobs/DDD",
 "state": "Undefined"
}
]
'''


def test_arcstat_json_without_outer_braces_is_read():
    jobs = parse_arcstat_json(ARCSTAT)
    assert list(jobs) == [f"https://localhost:8443/arex/rest/1.0/jobs/{x}" for x in ("AAA", "BBB", "CCC", "DDD")]
    ok, failed, killed, unknown = jobs.values()
    assert (ok.status, ok.exit_code, ok.ended) == ("finished", 0, True)
    assert (failed.status, failed.exit_code) == ("failed", 3)
    assert failed.errors == ["LRMS error: (3) Job finished with wrong exit code - 3 != 0"]
    assert (killed.status, killed.exit_code, killed.ended) == ("failed", None, True)
    assert (unknown.status, unknown.name, unknown.ended) == ("unknown", "", False)


def test_empty_job_list_and_braced_json_are_read():
    assert parse_arcstat_json('"jobs": [\n]\n') == {}
    assert parse_arcstat_json("No jobs found, try later\n") == {}
    braced = '{"jobs": [{"id": "x", "name": "n", "state": "Running"}]}'
    assert parse_arcstat_json(braced)["x"].status == "running"
    trailing = ARCSTAT + "WARNING: something printed after the list\n"
    assert len(parse_arcstat_json(trailing)) == 4


@pytest.mark.parametrize("state, status", [
    ("Accepted", "pending"), ("Preparing", "pending"), ("Submitting", "pending"),
    ("Hold", "pending"), ("Queuing", "pending"), ("Running", "running"),
    ("Finishing", "running"), ("Finished", "finished"), ("Failed", "failed"),
    ("Killed", "failed"), ("Deleted", "failed"), ("Other", "unknown"), ("Undefined", "unknown"),
    ("Something new", "unknown"),
])
def test_every_arc_state_maps_onto_pipekits(state, status):
    assert map_arc_state(state) == status


def test_finished_with_a_non_zero_exit_code_counts_as_failed():
    jobs = parse_arcstat_json('"jobs": [{"id": "x", "name": "n", "state": "Finished", "exitCode": 2}]')
    assert jobs["x"].status == "failed"


@pytest.mark.parametrize("state, error, code, reason", [
    ("Failed", "LRMS error: (3) Job finished with wrong exit code - 3 != 0", 3, "exit_code"),
    ("Killed", "Job is canceled by external request", None, "cancelled"),
    ("Failed", "Job is canceled by external request", 143, "cancelled"),
    ("Deleted", "", None, "lost"),
    ("Failed", "LRMS error: (-1) Job exceeded time limit", 271, "walltime"),
    ("Failed", "LRMS error: job killed: wall time exceeded", None, "walltime"),
    ("Failed", "LRMS error: (-4) Job exceeded memory limit", None, "oom"),
    ("Failed", "Failed in files download (pre-processing)", None, "node_failure"),
    ("Failed", "", 1, "exit_code"),
    ("Failed", "", None, "node_failure"),
])
def test_arc_errors_map_onto_the_failure_reasons(state, error, code, reason):
    assert failure_reason(state, error, code) == reason


def test_arcsub_output_gives_the_ids_in_submission_order():
    out = ("Job submitted with jobid: https://ce/arex/rest/1.0/jobs/A\n"
           "Job submitted with jobid: https://ce/arex/rest/1.0/jobs/B\n\n"
           "Job submission summary:\n-----------------------\n2 of 2 jobs were submitted\n")
    assert parse_arcsub_output(out) == ["https://ce/arex/rest/1.0/jobs/A", "https://ce/arex/rest/1.0/jobs/B"]
    assert parse_arcsub_output("Proxy expired. Job submission aborted. Please run 'arcproxy'!") == []


def test_job_names_say_the_submission_and_the_index():
    name = job_name("pk_Chars_e030895e3f3b", 17)
    assert name == "pk_Chars_e030895e3f3b_17"
    assert parse_job_name(name) == ("e030895e3f3b", 17)
    assert parse_job_name("pk_My_Task_With_Underscores_0123456789ab_3") == ("0123456789ab", 3)
    assert parse_job_name("someone_elses_job") is None
