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


class SgeWhere(SgeChars):
    """SgeChars whose output also says where the job ran and what sge_job_config saw."""

    def sge_job_config(self, config, job_num, branches):
        config.env["PK_TEST_SEEN"] = f"attempt {config.attempt} after {config.last_reason}"
        return config

    def _run(self):
        import os

        super()._run()
        data = self.output().load(formatter="json")
        self.output().dump({**data, "cwd": os.getcwd(), "job_dir": os.environ.get("PIPEKIT_JOB_DIR"),
                            "seen": os.environ.get("PK_TEST_SEEN")}, formatter="json")
