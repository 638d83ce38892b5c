"""
Task module the Slurm integration tests submit (jobs on the node import it from this directory).

Branch behaviour is steered by parameters so one class covers every scenario: ``fail_once``
branches raise on their first attempt (a marker file remembers the attempt), ``always_fail``
branches always raise, and ``sleep`` / ``sleep_first`` make branches slow (``sleep_first``: only
on the first attempt, so a cancelled job runs fast when resubmitted; ``slow`` limits both to some
branches).
"""

import json
import os
import time

import luigi

import pipekit as law

law.contrib.load("slurm")


def _ints(csv):
    return {int(v) for v in str(csv).split(",") if v.strip()}


class Chars(law.slurm.SlurmWorkflow, law.LocalWorkflow):
    """Branch i writes out/char_i.json with its character, the text parameter and its host."""

    out = luigi.Parameter()
    n = luigi.IntParameter(default=5)
    text = luigi.Parameter(default="plain")
    fail_once = luigi.Parameter(default="")
    always_fail = luigi.Parameter(default="")
    sleep = luigi.FloatParameter(default=0.0)
    sleep_first = luigi.FloatParameter(default=0.0)
    slow = luigi.Parameter(default="")

    def create_branch_map(self):
        return {i: chr(97 + i % 26) for i in range(self.n)}

    def output(self):
        return law.LocalFileTarget(os.path.join(self.out, f"char_{self.branch}.json"))

    def _first_attempt(self):
        marker = os.path.join(self.out, f".attempted_{self.branch}")
        first = not os.path.exists(marker)
        if first:
            os.makedirs(self.out, exist_ok=True)
            open(marker, "w").close()
        return first

    def run(self):
        t0 = time.time()
        try:
            self._run()
        finally:  # every attempt, also a failing one, in out/.runs.jsonl: when it ran
            with open(os.path.join(self.out, ".runs.jsonl"), "a") as f:
                f.write(json.dumps({"branch": self.branch, "t0": t0, "t1": time.time()}) + "\n")

    def _run(self):
        first = self._first_attempt()
        slow = not self.slow or self.branch in _ints(self.slow)
        if self.sleep_first and first and slow:
            time.sleep(self.sleep_first)
        if self.sleep and slow:
            time.sleep(self.sleep)
        if self.branch in _ints(self.always_fail):
            raise RuntimeError(f"branch {self.branch} always fails")
        if self.branch in _ints(self.fail_once) and first:
            raise RuntimeError(f"branch {self.branch} fails on its first attempt")
        self.output().dump({"branch": self.branch, "char": self.branch_data, "text": self.text,
                            "env": os.environ.get("PK_TEST_BOOTSTRAP", ""),
                            "host": os.uname().nodename, "pid": os.getpid()}, formatter="json")


class CharsElsewhere(Chars):
    """Chars with its job files in a directory of its own (slurm_output_directory hook)."""

    jobs_dir = luigi.Parameter()

    def slurm_output_directory(self):
        return law.LocalDirectoryTarget(self.jobs_dir)

    def slurm_job_config(self, config, job_num, branches):
        config.env["PK_TEST_BOOTSTRAP"] = "from-job-config"
        config.custom_content.append(("comment", f"first job {job_num}"))
        return config


class CharsStagedOut(Chars):
    """Chars whose jobs source the stage-out file *stageout* after their branches ran."""

    stageout = luigi.Parameter()

    def slurm_stageout_file(self):
        return self.stageout


class Hungry(Chars):
    """Chars whose branches first hold *megabytes* of memory; the job-config hook's view of the
    attempt (number and last failure reason) reaches the output through the job environment."""

    megabytes = luigi.IntParameter(default=0)

    def slurm_job_config(self, config, job_num, branches):
        config.env["PK_TEST_SEEN"] = f"attempt {config.attempt} after {config.last_reason}"
        return config

    def _run(self):
        hog = bytearray(self.megabytes * 1024 * 1024)
        for i in range(0, len(hog), 4096):  # touch every page: resident, not just reserved
            hog[i] = 1
        if hog:
            # held long enough for jobacct_gather's 1 s sampling (OverMemoryKill, where the
            # cgroup memory controller cannot be used) to see it; a cgroup kills at once
            time.sleep(4)
        super()._run()
        del hog
        data = self.output().load(formatter="json")
        self.output().dump({**data, "seen": os.environ.get("PK_TEST_SEEN")}, formatter="json")


def read_json(path):
    with open(path) as f:
        return json.load(f)


class SandboxedChars(law.SandboxTask, law.slurm.SlurmWorkflow, law.LocalWorkflow):
    """Branches run as Slurm jobs, and inside each job in the bash sandbox of slurm_sandbox_env.sh."""

    sandbox = "bash::" + os.path.join(os.path.dirname(os.path.abspath(__file__)), "slurm_sandbox_env.sh")

    out = luigi.Parameter()
    n = luigi.IntParameter(default=3)
    text = luigi.Parameter(default="plain")

    def create_branch_map(self):
        return {i: chr(97 + i % 26) for i in range(self.n)}

    def output(self):
        return law.LocalFileTarget(os.path.join(self.out, f"sandboxed_{self.branch}.json"))

    def run(self):
        self.output().dump({"branch": self.branch, "text": self.text,
                            "value": os.environ.get("PK_SANDBOX_VALUE", ""),
                            "slurm_job": os.environ.get("SLURM_JOB_ID", ""),
                            "pid": os.getpid()}, formatter="json")


class ProxyChars(Chars):
    """Chars recording the X.509 proxy its job got (X509_USER_PROXY) and whose proxy it is."""

    def run(self):
        from pipekit.grid.credentials import load_proxy

        path = os.environ.get("X509_USER_PROXY")
        self.output().dump({"branch": self.branch, "proxy": path,
                            "identity": load_proxy(path).identity if path else None},
                           formatter="json")
