"""The shared job resources (pipekit.job.resources): memory values and the law.cfg reader."""

from __future__ import annotations

import pytest

from pipekit.errors import UsageError
from pipekit.job.resources import ResourceJobConfig, config_megabytes, read_resources


def test_memory_values_are_megabytes_with_or_without_unit():
    assert config_megabytes(2048, "memory") == 2048
    assert config_megabytes("2G", "memory") == 2048
    assert config_megabytes("1.5GB", "memory") == 1536
    assert config_megabytes("100k", "memory") == 1  # rounded up, never 0
    with pytest.raises(UsageError, match="cannot read the LSF memory 'lots'"):
        config_megabytes("lots", "LSF memory")
    with pytest.raises(UsageError, match="must be positive"):
        config_megabytes(0, "memory")


def test_resources_come_from_the_named_section(home):
    (home.parent / "work" / "law.cfg").write_text(
        "[lsf]\nwalltime: 3h\nmemory: 1G\ncpus: 4\ngpus: 1\nbsub_args: -P proj -app 'a b'\n")
    config = read_resources(ResourceJobConfig(), "lsf", "bsub_args")
    assert (config.walltime, config.memory, config.cpus, config.gpus) == ("3h", "1G", 4, 1)
    assert config.extra_args == ["-P", "proj", "-app", "a b"]


def test_slurm_and_htcondor_requests_are_recorded_alike():
    from pipekit.batch.htcondor_files import HTCondorJobConfig
    from pipekit.batch.slurm import SlurmJobConfig
    from pipekit.job.resources import requested_resources

    slurm = SlurmJobConfig(memory="4G", walltime="01:30:00", cpus=2)
    condor = HTCondorJobConfig(memory=4096, max_runtime="90min", cpus=2)
    expected = {"memory_mb": 4096.0, "walltime_s": 5400.0, "cpus": 2.0}
    assert requested_resources(slurm) == expected == requested_resources(condor)


def test_nothing_requested_is_nothing_recorded():
    from pipekit.job.base import JobConfig
    from pipekit.job.resources import requested_resources

    assert requested_resources(JobConfig()) == {}
    assert requested_resources(ResourceJobConfig(walltime="soon", memory="lots")) == {}
