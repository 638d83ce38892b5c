"""The analysis registry of workflow ledgers, and finding ledgers below a directory."""

from __future__ import annotations

import json

from pipekit.config import Config
from pipekit.job.registry import (
    register_ledger,
    registered_ledgers,
    registry_path,
    scan_ledgers,
    state_dir,
)


def test_the_registry_lives_next_to_law_cfg_else_in_law_home(tmp_path, monkeypatch, home):
    monkeypatch.setenv("LAW_HOME", str(tmp_path / "lawhome"))
    assert state_dir() == str(tmp_path / "lawhome")
    (home.parent / "work" / "law.cfg").write_text("[core]\n")
    Config._instance = None
    assert registry_path() == str(home.parent / "work" / ".law" / "workflows.jsonl")


def test_registered_ledgers_are_deduplicated_and_missing_ones_dropped(tmp_path, monkeypatch, home):
    monkeypatch.setenv("LAW_HOME", str(tmp_path / "lh"))
    a, b = tmp_path / "a" / "ledger.json", tmp_path / "b" / "ledger.json"
    for p in (a, b):
        p.parent.mkdir()
        p.write_text("{}")
        register_ledger(str(p), {"family": p.parent.name, "type": "slurm"})
    register_ledger(str(a), {"family": "a2", "type": "slurm"})  # registered again: last wins
    with open(registry_path(), "a") as f:
        f.write('{"ledger": "/cut sho')  # a line cut short by a full disk
    b.unlink()
    entries = registered_ledgers()
    assert [(e["ledger"], e["family"]) for e in entries] == [(str(a), "a2")]


def test_scanning_finds_job_directories_but_not_inside_hidden_or_venv_dirs(tmp_path):
    for rel in ("out/pipekit_slurm_A_1", "deep/er/pipekit_htcondor_B_2", ".hidden/pipekit_slurm_C_3",
                ".venv/pipekit_slurm_D_4", "out/pipekit_slurm_E_5"):
        (tmp_path / rel).mkdir(parents=True)
        if not rel.endswith("E_5"):  # a job directory without a ledger is not a workflow
            (tmp_path / rel / "ledger.json").write_text(json.dumps({"jobs": {}}))
    found = sorted(p.split(str(tmp_path))[1] for p in scan_ledgers(str(tmp_path)))
    assert found == ["/deep/er/pipekit_htcondor_B_2/ledger.json", "/out/pipekit_slurm_A_1/ledger.json"]
