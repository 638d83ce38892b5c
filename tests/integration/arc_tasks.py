"""
Task module the ARC integration tests submit. The jobs run on the ARC CE of tests/infra/arc.sh
as the user "nobody", in their session directory, with /usr/bin/python3 and the software area
the bootstrap file puts on PYTHONPATH (a copy of pipekit and luigi, as a grid site would have
on CVMFS); this module is imported from the test's directory.

Branch behaviour is steered by parameters: ``fail_once`` branches raise on their first attempt,
``always_fail`` ones always, ``sleep`` makes branches slow (``sleep_first``: only the first
attempt; ``slow`` limits both to some branches). Each branch records its pid in ``out/.pid_<branch>`` (to check that a cancelled job is
really gone) and what it saw in its output (user id, proxy, its VO).
"""

import os
import time

import luigi

import pipekit as law

law.contrib.load("arc", "wlcg")


def _ints(csv):
    return {int(v) for v in str(csv).split(",") if v.strip()}


class Chars(law.arc.ARCWorkflow, law.LocalWorkflow):
    """Branch i writes out/char_i.json."""

    out = luigi.Parameter()
    n = luigi.IntParameter(default=5)
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
            open(marker, "w").close()
        return first

    def run(self):
        with open(os.path.join(self.out, f".pid_{self.branch}"), "w") as f:
            f.write(str(os.getpid()))
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
        proxy = os.environ.get("X509_USER_PROXY")
        self.output().dump({"branch": self.branch, "char": self.branch_data, "uid": os.getuid(),
                            "proxy": proxy, "vo": law.wlcg.get_vomsproxy_vo(proxy, silent=True),
                            "cwd": os.getcwd()}, formatter="json")


class GridChars(law.arc.ARCWorkflow, law.LocalWorkflow):
    """Branch i writes root://localhost:1095//<area>/<sub>/char_i.json with the delegated proxy."""

    jobs_dir = luigi.Parameter()
    area = luigi.Parameter(default="pipekit")
    sub = luigi.Parameter()
    n = luigi.IntParameter(default=3)

    def create_branch_map(self):
        return {i: chr(97 + i) for i in range(self.n)}

    def output(self):
        fs = law.wlcg.WLCGFileSystem(base=f"root://localhost:1095//{self.area}/{self.sub}")
        return law.wlcg.WLCGFileTarget(f"char_{self.branch}.json", fs=fs)

    def arc_output_directory(self):
        return self.jobs_dir

    def run(self):
        proxy = os.environ.get("X509_USER_PROXY")
        self.output().dump({"branch": self.branch, "uid": os.getuid(), "proxy": proxy,
                            "vo": law.wlcg.get_vomsproxy_vo(proxy, silent=True)},
                           formatter="json")
