"""
Task file shared by law and pipekit for the sandbox workloads (SB1, SB2).

BENCH_IMPL=law imports law, anything else ``pipekit as law``. The bash setup script
(``setup.sh`` in the working directory) and law.cfg are written by bench/workloads/sandbox.py.
Outputs go below $BENCH_OUT as absolute paths.
"""

import os

import luigi

if os.environ.get("BENCH_IMPL") == "law":
    import law

    law.contrib.load("docker")
else:
    import pipekit as law

OUT = os.environ.get("BENCH_OUT", os.path.abspath("out"))


class BashBranches(law.SandboxTask, law.LocalWorkflow):
    """N branches, each run in the environment of setup.sh and writing $MY_VARIABLE."""

    sandbox = "bash::setup.sh"
    n = luigi.IntParameter(default=10)

    def create_branch_map(self):
        return list(range(self.n))

    def output(self):
        return law.LocalFileTarget(os.path.join(OUT, "bash", f"branch_{self.branch}.txt"))

    def run(self):
        self.output().dump(os.environ["MY_VARIABLE"], formatter="text")


class InDocker(law.SandboxTask):
    """One task in a container of the local Debian + python3 image, writing $MY_VARIABLE."""

    sandbox = "docker::local/debian-py:bookworm"
    i = luigi.IntParameter(default=0)

    def output(self):
        return law.LocalFileTarget(os.path.join(OUT, "docker", f"task_{self.i}.txt"))

    def sandbox_pre_setup_cmds(self):
        # law's environment probe calls 'python', which a python3-only Debian image lacks
        return ["ln -sf /usr/bin/python3 /usr/local/bin/python"] if law.__name__ == "law" else []

    def run(self):
        self.output().dump(os.environ["MY_VARIABLE"], formatter="text")
