"""
Reading what Grid Engine says about jobs (pipekit.batch.sge_status), on ``qstat -xml``,
``qstat -j`` and ``qacct -j`` output recorded from the Son of Grid Engine 8.1.9 cell of
tests/infra/sge.sh (trimmed to the fields pipekit reads): state letters, compressed pending
task lists, accounting records of a normal end, a walltime kill, a qdel, a memory failure.
"""

from __future__ import annotations

import pytest

from pipekit.batch import sge_status as st
from pipekit.errors import JobError

QSTAT_XML = """<?xml version='1.0'?>
<job_info  xmlns:xsd="http://arc.liv.ac.uk/repos/darcs/sge/source/dist/util/resources/schemas/qstat/qstat.xsd">
  <queue_info>
    <job_list state="running">
      <JB_job_number>35</JB_job_number>
      <JAT_prio>0.50000</JAT_prio>
      <JB_name>pk_T_abc</JB_name>
      <JB_owner>root</JB_owner>
      <state>r</state>
      <JAT_start_time>2026-12-06T20:31:56</JAT_start_time>
      <queue_name>all.q@vm</queue_name>
      <slots>1</slots>
      <tasks>1</tasks>
    </job_list>
    <job_list state="running">
      <JB_job_number>35</JB_job_number>
      <JB_name>pk_T_abc</JB_name>
      <state>t</state>
      <tasks>2</tasks>
    </job_list>
  </queue_info>
  <job_info>
    <job_list state="pending">
      <JB_job_number>37</JB_job_number>
      <JB_name>pk_T_err</JB_name>
      <state>Eqw</state>
      <tasks>1</tasks>
    </job_list>
    <job_list state="pending">
      <JB_job_number>35</JB_job_number>
      <JB_name>pk_T_abc</JB_name>
      <state>qw</state>
      <tasks>3-20:1</tasks>
    </job_list>
    <job_list state="pending">
      <JB_job_number>36</JB_job_number>
      <JB_name>pk_T_hold</JB_name>
      <state>hqw</state>
      <tasks>1,2</tasks>
    </job_list>
    <job_list state="pending">
      <JB_job_number>40</JB_job_number>
      <JB_name>not_an_array</JB_name>
      <state>qw</state>
    </job_list>
  </job_info>
</job_info>
"""

SEP = "=" * 62


def qacct(**fields: str) -> str:
    """One qacct -j record as qacct prints it (key padded to 13 columns)."""
    lines = [SEP] + [f"{k:<13}{v}" for k, v in fields.items()]
    return "\n".join(lines) + "\n"


FINISHED = qacct(qname="all.q", jobname="pk_T_abc", jobnumber="35", taskid="3", slots="1",
                 failed="0    ", exit_status="0                   ", ru_wallclock="2s",
                 maxvmem="4.910MB", category="NONE")
WALLTIME = qacct(jobname="rt", jobnumber="2", taskid="undefined", slots="1",
                 failed="37  : qmaster enforced h_rt, h_cpu, or h_vmem limit",
                 exit_status="137                  (Killed)", ru_wallclock="4s",
                 maxvmem="4.746MB", category="-l h_rt=3")
QDEL = qacct(jobname="t2", jobnumber="6", taskid="2", slots="1",
             failed="100 : assumedly after job", exit_status="137                  (Killed)",
             ru_wallclock="3s", maxvmem="4.910MB", category="NONE")
MEMORY = qacct(jobname="grow", jobnumber="14", taskid="1", slots="2", failed="0    ",
               exit_status="1                   ", ru_wallclock="3s", maxvmem="511.172MB",
               category="-l h_rt=60,h_vmem=300M -pe smp 2")


def test_qstat_xml_lists_every_task_with_compressed_pending_ranges_expanded():
    tasks = st.parse_qstat_xml(QSTAT_XML)
    ids = [t.job_id for t in tasks]
    assert ids[:3] == ["35.1", "35.2", "37.1"]
    assert ids[3:21] == [f"35.{i}" for i in range(3, 21)]
    assert ids[21:] == ["36.1", "36.2"]  # the job that is no array is left out
    assert {t.name for t in tasks if t.job_id.startswith("35.")} == {"pk_T_abc"}


@pytest.mark.parametrize("letters, status, reason", [
    ("qw", "pending", None), ("hqw", "pending", None), ("Rq", "pending", None),
    ("r", "running", None), ("t", "running", None), ("Rr", "running", None),
    ("s", "running", None), ("S", "running", None), ("dr", "running", None),
    ("Eqw", "failed", "node_failure"), ("Ehqw", "failed", "node_failure"),
])
def test_qstat_state_letters_map_to_status_and_reason(letters, status, reason):
    state = st.queued_state(st.QueuedTask("35.1", "pk", letters))
    assert (state.status, state.reason, state.source) == (status, reason, "qstat")
    assert (state.error is not None) == (status == "failed")


def test_broken_qstat_xml_is_a_job_error_and_empty_output_no_tasks():
    assert st.parse_qstat_xml("") == []
    with pytest.raises(JobError, match="cannot read the XML output of qstat"):
        st.parse_qstat_xml("<job_info><job_list>")


def test_accounting_record_of_a_normal_end_is_finished():
    (record,) = st.parse_qacct(FINISHED)
    state = st.qacct_state(record)
    assert (state.job_id, state.status, state.code, state.reason) == ("35.3", "finished", 0, None)


def test_walltime_kill_is_walltime_with_the_failed_code_in_the_error():
    state = st.qacct_state(st.parse_qacct(WALLTIME)[0])
    assert (state.job_id, state.status, state.code, state.reason) == ("2.1", "failed", 137, "walltime")
    assert "failed 37 (qmaster enforced h_rt, h_cpu, or h_vmem limit), SIGKILL" in state.error


def test_qdel_of_a_running_task_reads_as_cancelled():
    state = st.qacct_state(st.parse_qacct(QDEL)[0])
    assert (state.status, state.code, state.reason) == ("failed", 137, "cancelled")


def test_a_task_that_used_its_h_vmem_per_slot_and_failed_is_oom():
    # 511 MB of 2 slots x 300M: the allocation that failed was the one over the limit
    state = st.qacct_state(st.parse_qacct(MEMORY)[0])
    assert (state.status, state.code, state.reason) == ("failed", 1, "oom")
    small = MEMORY.replace("511.172MB", "120.000MB")
    assert st.qacct_state(st.parse_qacct(small)[0]).reason == "exit_code"


def test_failed_37_with_memory_used_up_is_oom_and_100_over_h_rt_is_walltime():
    mem = WALLTIME.replace("4.746MB", "1.9G").replace("-l h_rt=3", "-l h_vmem=2G")
    assert st.qacct_state(st.parse_qacct(mem)[0]).reason == "oom"
    slow = QDEL.replace("category     NONE", "category     -l h_rt=0:0:2")
    assert st.qacct_state(st.parse_qacct(slow)[0]).reason == "walltime"


@pytest.mark.parametrize("failed, reason", [
    ("1   : assumedly before job", "node_failure"), ("26  : opening input/output file", "node_failure"),
    ("17  : through signal", "cancelled"), ("25  : rescheduling", "preempted"),
    ("24  : migrating", "evicted"), ("30  : application error returned", "exit_code"),
])
def test_failed_codes_map_to_the_failure_vocabulary(failed, reason):
    record = FINISHED.replace("failed       0    ", f"failed       {failed}")
    state = st.qacct_state(st.parse_qacct(record)[0])
    assert (state.status, state.reason) == ("failed", reason)
    assert f"failed {failed.split()[0]}" in state.error


def test_several_records_are_read_one_per_task():
    records = st.parse_qacct(FINISHED + QDEL + "\n")
    assert [st.qacct_state(r).job_id for r in records] == ["35.3", "6.2"]
    assert st.parse_qacct("error: job id 999 not found\n") == []


def test_error_reasons_of_qstat_j_are_read_per_task():
    text = ("job_number:                 37\n"
            "error reason          1:      12/06/2026 20:31:56 [0:22253]: error: can't open "
            "/nonexistent/stdin as dummy input file\n"
            "scheduling info:            Job is in error state\n")
    assert st.parse_error_reasons(text) == {1: "error: can't open /nonexistent/stdin as dummy input file"}


def test_memory_values_follow_grid_engine_units():
    assert st.memory_bytes("300M") == 300 * 1024 ** 2
    assert st.memory_bytes("2G") == 2 * 1024 ** 3
    assert st.memory_bytes("1.5k") == 1500
    assert st.memory_bytes("511.172MB") == pytest.approx(511.172 * 1024 ** 2)
    assert st.memory_bytes("lots") is None


def test_qsub_output_and_version_are_read():
    assert st.parse_qsub_output("12.1-10:1\n") == "12"
    assert st.parse_qsub_output("Your job 7 (\"x\") has been submitted\n7\n") == "7"
    assert st.parse_qsub_output("") is None
    assert st.parse_version("SGE 8.1.9\nusage: qstat [options]") == (8, 1, 9)
    assert st.parse_version("nothing") is None


def test_every_failed_code_and_state_letter_has_a_documented_meaning():
    for vocabulary in (st.SGE_STATES, st.SGE_FAILED):
        assert all(row.meaning for row in vocabulary.rows())


def test_docs_sge_md_lists_every_state_letter_and_failed_code_with_its_reason():
    import re
    from pathlib import Path

    docs = (Path(__file__).resolve().parent.parent / "docs" / "sge.md").read_text()
    for row in st.SGE_STATES.rows():
        assert f"| `{row.name}` | {row.status} | {row.reason or '—'} |" in docs
    documented = {}
    for codes, status, reason in re.findall(r"^\| ([\d, ]+) \| (\w+) \| ([\w—]+) \|", docs, re.M):
        documented.update({c.strip(): (status, reason) for c in codes.split(",")})
    assert documented == {row.name: (row.status, row.reason or "—") for row in st.SGE_FAILED.rows()}
