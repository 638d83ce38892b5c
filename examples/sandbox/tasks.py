"""
The sandbox example of the seed talk: a task whose run() executes inside a sandbox and writes
the value of $MY_VARIABLE there to data/<TaskClass>.txt.

    pipekit run tasks.BashTask      # sources test_env1.sh, which exports MY_VARIABLE=foo
    pipekit run tasks.DockerTask    # in a container; law.cfg sets MY_VARIABLE=foo there
"""

import os

import pipekit as law


class BashTask(law.SandboxTask):
    """Runs in the environment of test_env1.sh."""

    sandbox = "bash::test_env1.sh"

    def output(self):
        return law.LocalFileTarget(f"data/{self.__class__.__name__}.txt")

    def run(self):
        self.output().dump(os.environ["MY_VARIABLE"], formatter="text")


class DockerTask(BashTask):
    """The same task in a Docker container (any image with Python >= 3.9 works)."""

    sandbox = "docker::local/debian-py:bookworm"
