"""
Task module the Grid Engine integration tests submit: the branches of ``slurm_tasks.Chars``
(failing, slow and always-failing branches steered by parameters) as an ``SGEWorkflow``.
"""

import luigi
from slurm_tasks import Chars

import pipekit as law

law.contrib.load("sge")


class SgeChars(law.sge.SGEWorkflow, Chars):
    """Chars on Grid Engine: branch i writes out/char_i.json."""


class SgeCharsElsewhere(SgeChars):
    """SgeChars with its job files in a directory of its own (sge_output_directory hook)."""

    jobs_dir = luigi.Parameter()

    def sge_output_directory(self):
        return self.jobs_dir

    def sge_job_config(self, config, job_num, branches):
        config.env["PK_TEST_BOOTSTRAP"] = "from-job-config"
        config.custom_content.append(("ac", f"first_job={job_num}"))
        return config
