"""
A small analysis for the report, status and local-ledger tests: ``Squares`` (a LocalWorkflow
whose branches can be made to fail, sleep or use memory), ``Total`` (needs it), and
``SlurmSquares`` / the same on Slurm. Branch selections (``--fail``, ``--sleep``, ``--mb``)
are insignificant parameters, so every run of one workflow shares its ledger.
"""

from __future__ import annotations

import json
from pathlib import Path

from cli_helpers import run_cli, write

__all__ = ["REPORT_TASKS", "analysis", "local_ledgers", "ledger_jobs", "run_cli"]

REPORT_TASKS = '''
import os
import time

import luigi

import pipekit as law


class Squares(law.LocalWorkflow):
    """n branches writing i*i; branches in --fail raise until data/fixed exists."""

    n = luigi.IntParameter(default=6)
    fail = law.CSVParameter(cls=luigi.IntParameter, default=(), significant=False)
    sleep = luigi.FloatParameter(default=0.0, significant=False)
    mb = luigi.IntParameter(default=0, significant=False)

    def create_branch_map(self):
        return {i: i * i for i in range(self.n)}

    def output(self):
        return law.LocalFileTarget(f"data/sq/{self.branch}.json")

    def run(self):
        block = bytearray(self.mb * 1024 * 1024 * (self.branch == 1))
        block[::4096] = b"x" * len(block[::4096])
        time.sleep(self.sleep)
        if self.branch in self.fail and not os.path.exists("data/fixed"):
            raise ValueError(f"branch {self.branch} <b>bad</b> input")
        self.output().dump({"sq": self.branch_data})


class Total(law.Task):
    n = luigi.IntParameter(default=6)

    def requires(self):
        return Squares.req(self)

    def output(self):
        return law.LocalFileTarget("data/total.json")

    def run(self):
        coll = self.input()["collection"]
        self.output().dump({"total": sum(t.load()["sq"] for t in coll.targets.values())})
'''


def analysis(tmp_path: Path) -> Path:
    """A fresh analysis directory with law.cfg and the module ``report_tasks``."""
    work = tmp_path / "ana"
    write(work / "report_tasks.py", REPORT_TASKS)
    write(work / "law.cfg", "[modules]\nreport_tasks\n\n[luigi_core]\nlocal_scheduler: True\n")
    return work


def local_ledgers(work: Path) -> list[Path]:
    return sorted((work / ".law" / "workflows").glob("pipekit_local_*/ledger.json"))


def ledger_jobs(path: Path) -> dict[int, dict]:
    return {int(k): v for k, v in json.loads(path.read_text())["jobs"].items()}
