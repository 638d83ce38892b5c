"""
The retry policy: memory and time limits grow per earlier out-of-memory / time-limit failure
(with caps, in each backend's notation), preemptions do not use up --retries, and bad settings
get one clear message.
"""

from __future__ import annotations

import pytest

from pipekit.batch.htcondor_files import HTCondorJobConfig
from pipekit.batch.slurm import SlurmJobConfig
from pipekit.errors import UsageError
from pipekit.job.base import EVICTED, EXIT_CODE, OOM, PREEMPTED, WALLTIME, JobAttempt
from pipekit.job.ledger import JobRecord
from pipekit.job.retry import RetryPolicy, escalation_key, failure_reasons, read_log_tail


def config(cls, reasons, **fields):
    c = cls(**fields)
    c.jobs = {3: JobAttempt(3, len(reasons) + 1, list(reasons))}
    return c


def test_memory_and_walltime_grow_by_their_factor_per_matching_failure():
    policy = RetryPolicy(memory_factor=1.5, walltime_factor=2)
    c = config(SlurmJobConfig, [OOM, WALLTIME, OOM], memory="2G", walltime="1h")
    notes = policy.apply(c)
    assert c.memory == "4608M"  # 2048 MB * 1.5 ** 2
    assert c.walltime == 7200  # one time-limit failure: twice the hour, in seconds
    assert notes == ["memory 2G -> 4608M", "time limit 1h -> 2h"]


def test_a_first_attempt_and_other_failures_change_nothing():
    policy = RetryPolicy()
    first = config(SlurmJobConfig, [], memory="2G", walltime="1h")
    other = config(SlurmJobConfig, [EXIT_CODE, PREEMPTED], memory="2G", walltime="1h")
    assert policy.apply(first) == [] and policy.apply(other) == []
    assert (other.memory, other.walltime) == ("2G", "1h")


def test_caps_stop_the_growth_and_say_so():
    policy = RetryPolicy.from_values(memory_factor=2, memory_max="3G", walltime_max="90m")
    c = config(SlurmJobConfig, [OOM, WALLTIME], memory="2G", walltime="1h")
    policy.apply(c)
    assert (c.memory, c.walltime) == ("3072M", 5400)
    again = config(SlurmJobConfig, [OOM, OOM], memory="3072M")
    assert policy.apply(again) == ["memory stays 3072M (at --retry-memory-max)"]


def test_htcondor_memory_is_scaled_in_megabytes_and_max_runtime_is_the_time_limit():
    c = config(HTCondorJobConfig, [OOM, WALLTIME], memory="2 GB", max_runtime=3600)
    RetryPolicy().apply(c)
    assert (c.memory, c.max_runtime) == (3072, 7200)


def test_without_a_memory_request_the_note_says_to_set_one():
    c = config(SlurmJobConfig, [OOM])
    assert RetryPolicy().apply(c) == ["no memory request to raise after running out of memory "
                                      "(set one: memory in the batch system's section of law.cfg, "
                                      "or config.memory in the job-config hook)"]


def test_the_job_config_hook_can_switch_adaptation_off():
    c = config(SlurmJobConfig, [OOM], memory="2G")
    c.adapt_resources = False
    assert RetryPolicy().apply(c) == [] and c.memory == "2G"


@pytest.mark.parametrize("kwargs, message", [
    ({"memory_factor": 0.5}, "--retry-memory-factor 0.5 must be a number of at least 1"),
    ({"walltime_factor": "x"}, "--retry-walltime-factor 'x' must be a number of at least 1"),
    ({"memory_max": "lots"}, "--retry-memory-max 'lots' is not a memory size"),
    ({"walltime_max": "soon"}, "cannot read the --retry-walltime-max 'soon'"),
])
def test_bad_settings_name_the_option(kwargs, message):
    with pytest.raises(UsageError, match=message):
        RetryPolicy.from_values(**kwargs)


def test_preemptions_and_evictions_are_free_other_reasons_are_not():
    policy = RetryPolicy()
    assert policy.is_free(PREEMPTED) and policy.is_free(EVICTED)
    assert not any(policy.is_free(r) for r in (OOM, WALLTIME, EXIT_CODE, None))


def test_failure_reasons_and_escalation_key_count_every_attempt_of_a_ledger_job():
    job = JobRecord(num=0, branches=[0], state="failed", attempt=3, reason=WALLTIME,
                    history=[{"attempt": 1, "state": "failed", "reason": OOM},
                             {"attempt": 2, "state": "failed", "reason": None}])
    assert failure_reasons(job) == [OOM, EXIT_CODE, WALLTIME]
    assert escalation_key(job) == (1, 1)


def test_log_tail_reads_the_end_of_a_large_log(tmp_path):
    log = tmp_path / "log.txt"
    log.write_text("x" * 100_000 + "\nthe end\n")
    assert read_log_tail(str(log), 100).endswith("the end\n")
    assert read_log_tail(str(tmp_path / "missing")) == "" and read_log_tail(None) == ""
