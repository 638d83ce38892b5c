"""
The record file of an output directory (``.pipekit-provenance``): one file for many outputs,
atomic, merged under a lock by concurrent writers, pruned of outputs that are gone, and never
overwritten when written by a newer pipekit.
"""

from __future__ import annotations

import json
import logging
import os

import pytest

from pipekit.provenance.store import STORE_NAME, RecordBuffer, read_store, write_entries
from pipekit.target.local import LocalFileSystem

CTX = {"family": "T", "module": "m", "class": "T", "params": {"n": "1"}, "defaulted": [],
       "code": {"m.T": "abc"}, "version": None, "git": None, "software": {}, "host": "h",
       "user": "u", "job": None}


def entry(i: int, inputs=()):
    return (CTX, i, 1.0, 2.0, (4, 1000 + i), list(inputs))


@pytest.fixture
def fs():
    return LocalFileSystem()


def make_outputs(d, n):
    d.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        (d / f"o{i}.txt").write_text("data")


def test_many_outputs_share_one_file_and_one_context(tmp_path, fs):
    make_outputs(tmp_path, 500)
    write_entries(fs, str(tmp_path), {f"o{i}.txt": entry(i) for i in range(500)})
    files = [p.name for p in tmp_path.iterdir() if not p.name.startswith("o")]
    assert files == [STORE_NAME]
    raw = json.loads((tmp_path / STORE_NAME).read_text())
    assert len(raw["contexts"]) == 1 and len(raw["outputs"]) == 500
    rec = read_store(fs, str(tmp_path)).record("o7.txt", str(tmp_path / "o7.txt"))
    assert (rec.family, rec.branch, rec.output_state.mtime) == ("T", 7, 1007)


def test_inputs_are_stored_by_directory_and_read_back_as_full_paths(tmp_path, fs):
    make_outputs(tmp_path, 1)
    inputs = [(f"/data/in/f{i}.json", 10, 20, None) for i in range(3)]
    write_entries(fs, str(tmp_path), {"o0.txt": entry(0, inputs)})
    raw = json.loads((tmp_path / STORE_NAME).read_text())
    assert raw["dirs"] == ["/data/in"]
    rec = read_store(fs, str(tmp_path)).record("o0.txt", "x")
    assert [i.key for i in rec.inputs] == ["/data/in/f0.json", "/data/in/f1.json", "/data/in/f2.json"]


def test_a_later_write_merges_and_drops_entries_of_outputs_that_are_gone(tmp_path, fs):
    make_outputs(tmp_path, 3)
    write_entries(fs, str(tmp_path), {"o0.txt": entry(0), "o1.txt": entry(1)})
    (tmp_path / "o0.txt").unlink()
    write_entries(fs, str(tmp_path), {"o2.txt": entry(2)})
    assert sorted(read_store(fs, str(tmp_path)).outputs) == ["o1.txt", "o2.txt"]
    assert [p.name for p in tmp_path.iterdir() if ".tmp" in p.name] == []


def _write_in_child(directory: str, lo: int, hi: int) -> None:
    fs = LocalFileSystem()
    for i in range(lo, hi):
        write_entries(fs, directory, {f"o{i}.txt": entry(i)})


def test_concurrent_writers_lose_no_record(tmp_path, fs):
    make_outputs(tmp_path, 200)
    pids = []
    for k in range(4):  # four processes, 50 read-modify-writes each, into one file
        pid = os.fork()
        if pid == 0:
            try:
                _write_in_child(str(tmp_path), 50 * k, 50 * (k + 1))
            finally:
                os._exit(0)
        pids.append(pid)
    for pid in pids:
        assert os.waitpid(pid, 0)[1] == 0
    assert sorted(read_store(fs, str(tmp_path)).outputs) == sorted(f"o{i}.txt" for i in range(200))


def test_a_file_of_a_newer_format_is_never_overwritten(tmp_path, fs, caplog):
    make_outputs(tmp_path, 1)
    newer = json.dumps({"format": "pipekit-provenance", "version": 99, "outputs": {}})
    (tmp_path / STORE_NAME).write_text(newer)
    buf = RecordBuffer()
    buf._pending[(fs, str(tmp_path))] = {"o0.txt": entry(0)}
    with caplog.at_level(logging.WARNING, logger="pipekit.provenance"):
        buf.flush()
        assert len(read_store(fs, str(tmp_path))) == 0
    assert "format version 99" in caplog.text
    assert (tmp_path / STORE_NAME).read_text() == newer


def test_a_damaged_file_reads_as_empty_and_is_replaced(tmp_path, fs, caplog):
    make_outputs(tmp_path, 1)
    (tmp_path / STORE_NAME).write_text('{"format": "pipekit-prov')
    with caplog.at_level(logging.WARNING, logger="pipekit.provenance"):
        assert len(read_store(fs, str(tmp_path))) == 0
    assert "not valid JSON" in caplog.text
    write_entries(fs, str(tmp_path), {"o0.txt": entry(0)})
    assert list(read_store(fs, str(tmp_path)).outputs) == ["o0.txt"]


def test_a_directory_without_records_reads_as_empty(tmp_path, fs):
    assert len(read_store(fs, str(tmp_path / "nowhere"))) == 0
    assert len(read_store(fs, str(tmp_path))) == 0
