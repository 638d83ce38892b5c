"""
Reading what LSF says about jobs (pipekit.batch.lsf_status), on output shaped as IBM documents
it for LSF 10.1: ``bjobs -json -o`` records, ``bjobs -noheader -o "... delimiter='|'"`` lines
(empty fields print as ``-``), ``bhist -l`` blocks wrapped at 80 columns, ``bsub`` and
``lsid`` lines. No LSF cluster exists here, so none of it is recorded from a real one.
"""

from __future__ import annotations

import json

import pytest

from pipekit.batch import lsf_status as st
from pipekit.errors import JobError


def bjobs_json(*records: dict) -> str:
    return json.dumps({"COMMAND": "bjobs", "JOBS": len(records), "RECORDS": list(records)}, indent=2)


def rec(index: int, stat: str, code: str = "", reason: str = "", job="4711") -> dict:
    return {"JOBID": job, "JOBINDEX": str(index), "STAT": stat, "EXIT_CODE": code,
            "EXIT_REASON": reason, "JOB_NAME": f"pk_Fam_abc[{index}]"}


def test_json_records_give_one_state_per_array_element():
    text = bjobs_json(rec(1, "DONE"), rec(2, "RUN"), rec(3, "PEND"), rec(4, "EXIT", "1"),
                      {"JOBID": "999", "ERROR": "Job <999> is not found"})
    states = {s.job_id: s for s in map(st.record_state, st.parse_bjobs_json(text))}
    assert {i: s.status for i, s in states.items()} == {
        "4711[1]": "finished", "4711[2]": "running", "4711[3]": "pending", "4711[4]": "failed"}
    assert (states["4711[4]"].code, states["4711[4]"].reason) == (1, "exit_code")
    assert states["4711[1]"].source == "bjobs"


def test_text_records_read_dashes_as_empty_and_the_index_from_the_name_when_missing():
    text = ("4711|1|DONE|-|-|pk_Fam_abc[1]\n"
            "4711|-|EXIT|137|TERM_RUNLIMIT: job killed after reaching LSF run time limit|pk_Fam_abc[2]\n"
            "Job <4712> is not found\n")
    records = st.parse_bjobs_text(text)
    assert [r.element_id for r in records] == ["4711[1]", "4711[2]"]
    state = st.record_state(records[1])
    assert (state.status, state.code, state.reason) == ("failed", 137, "walltime")
    assert "TERM_RUNLIMIT" in state.error


@pytest.mark.parametrize("reason_text, reason", [
    ("TERM_MEMLIMIT: job killed after reaching LSF memory usage limit", "oom"),
    ("TERM_SWAP: job killed after reaching LSF swap usage limit", "oom"),
    ("TERM_RUNLIMIT: job killed after reaching LSF run time limit", "walltime"),
    ("TERM_CPULIMIT: job killed after reaching LSF CPU usage limit", "walltime"),
    ("TERM_PREEMPT: job killed after preemption", "preempted"),
    ("TERM_LOAD: job killed after load exceeds threshold", "evicted"),
    ("TERM_OWNER: job killed by owner", "cancelled"),
    ("TERM_ADMIN: job killed by root or LSF administrator", "cancelled"),
    ("TERM_ZOMBIE: job exited while LSF is not available", "node_failure"),
    ("TERM_CWD_NOTEXIST: current working directory is not accessible", "node_failure"),
    ("job killed after reaching LSF memory usage limit", "oom"),  # a description, no keyword
    ("TERM_EXTERNAL_SIGNAL: job killed by a signal external to LSF", "exit_code"),
])
def test_termination_reasons_map_to_the_failure_vocabulary(reason_text, reason):
    state = st.record_state(st.parse_bjobs_json(bjobs_json(rec(1, "EXIT", "137", reason_text)))[0])
    assert (state.status, state.reason) == ("failed", reason)


@pytest.mark.parametrize("stat, status, reason", [
    ("PSUSP", "pending", None), ("WAIT", "pending", None), ("PROV", "pending", None),
    ("USUSP", "running", None), ("SSUSP", "running", None), ("UNKWN", "running", None),
    ("ZOMBI", "failed", "node_failure"), ("POST_DONE", "finished", None),
])
def test_every_stat_value_has_a_status(stat, status, reason):
    state = st.record_state(st.parse_bjobs_json(bjobs_json(rec(1, stat)))[0])
    assert (state.status, state.reason) == (status, reason)


def test_an_exit_by_sigterm_without_reason_reads_as_cancelled():
    state = st.record_state(st.parse_bjobs_json(bjobs_json(rec(1, "EXIT", "143")))[0])
    assert (state.reason, state.error) == ("cancelled", "LSF EXIT: exit code 143")


def test_broken_json_is_a_job_error():
    assert st.parse_bjobs_json("") == []
    with pytest.raises(JobError, match="cannot read the JSON output of bjobs"):
        st.parse_bjobs_json("{not json")


def bhist_lines(*lines: str) -> str:
    """*lines* laid out as bhist -l prints them: cut at 79 columns, mid-word too, the rest
    indented by 21 columns."""
    out = []
    for line in lines:
        out.append(line[:79])
        rest = line[79:]
        while rest:
            out.append(" " * 21 + rest[:58])
            rest = rest[58:]
    return "\n".join(out) + "\n"


RULE = "-" * 78
BHIST = bhist_lines(
    "Job <4711[1]>, Job Name <pk_Fam_abc[1]>, User <anna>, Project <default>, Command </data/jobs/job.sh>",
    "Mon Dec  7 10:00:00: Submitted from host <login1>, to Queue <normal>, CWD </data>;",
    "Mon Dec  7 10:00:05: Dispatched 1 Task(s) on Host(s) <node7>, Allocated 1 Slot(s) on Host(s) <node7>;",
    "Mon Dec  7 10:01:00: Done successfully. The CPU time used is 1.2 seconds;",
    RULE,
    "Job <4711[2]>, Job Name <pk_Fam_abc[2]>, User <anna>, Project <default>, Command </data/jobs/job.sh>",
    "Mon Dec  7 10:00:05: Dispatched 1 Task(s) on Host(s) <node8>;",
    "Mon Dec  7 10:30:00: Exited with exit code 140. The CPU time used is 1790.1 seconds;",
    "Mon Dec  7 10:30:00: Completed <exit>; TERM_RUNLIMIT: job killed after reaching LSF run time limit.",
    RULE,
    "Job <4711[3]>, Job Name <pk_Fam_abc[3]>, User <anna>, Project <default>, Command </data/jobs/job.sh>",
    "Mon Dec  7 10:00:05: Dispatched 1 Task(s) on Host(s) <node9>;",
)


def test_bhist_blocks_give_the_final_state_of_ended_elements():
    states = {s.job_id: s for s in st.parse_bhist(BHIST)}
    assert set(states) == {"4711[1]", "4711[2]"}  # the running one is left out
    assert states["4711[1]"].status == "finished"
    ended = states["4711[2]"]
    assert (ended.status, ended.code, ended.reason, ended.source) == ("failed", 140, "walltime", "bhist")
    assert "TERM_RUNLIMIT: job killed after reaching LSF run time limit" in ended.error


def test_bsub_and_version_lines_are_read():
    assert st.parse_bsub_output("Job <4711> is submitted to default queue <normal>.\n") == "4711"
    assert st.parse_bsub_output("Job <12> is submitted to queue <short>.") == "12"
    assert st.parse_bsub_output("Request aborted by esub. Job not submitted.") is None
    assert st.parse_version("IBM Spectrum LSF Standard 10.1.0.12, Jun 10 2021\n") == (10, 1, 0)
    assert st.parse_version("Platform LSF 9.1.3.0, Apr 04 2014") == (9, 1, 3)
    assert st.not_found_ids("Job <12> is not found\nJob <13[2]> is not found\n") == ["12", "13[2]"]


def test_every_state_and_termination_reason_has_a_documented_meaning():
    for vocabulary in (st.LSF_STATES, st.LSF_EXIT_REASONS):
        assert all(row.meaning for row in vocabulary.rows())


def test_docs_lsf_md_lists_every_state_and_termination_reason_with_its_reason():
    from pathlib import Path

    docs = (Path(__file__).resolve().parent.parent / "docs" / "lsf.md").read_text()
    for vocabulary in (st.LSF_STATES, st.LSF_EXIT_REASONS):
        for row in vocabulary.rows():
            assert f"| `{row.name}` | {row.status} | {row.reason or '—'} |" in docs
