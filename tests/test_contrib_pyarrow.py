"""law.pyarrow: merging parquet files (merge_parquet_files, merge_parquet_task) on real files."""

from __future__ import annotations

import os

import pytest

import pipekit as law

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")


@pytest.fixture
def parts(tmp_path):
    paths = []
    for i, rows in enumerate([[1, 2, 3], [], [4, 5], [6]]):
        path = tmp_path / f"part{i}.parquet"
        pq.write_table(pa.table({"x": pa.array(rows, type=pa.int64())}), path)
        paths.append(str(path))
    return paths


def test_merge_parquet_files_concatenates_skips_empty_and_reports_progress(parts, tmp_path):
    law.contrib.load("pyarrow")
    seen = []
    dst = law.pyarrow.merge_parquet_files(parts, tmp_path / "out" / "merged.parquet",
                                          callback=seen.append)
    assert pq.read_table(dst)["x"].to_pylist() == [1, 2, 3, 4, 5, 6]
    assert seen == [0, 1, 2, 3] and os.path.dirname(dst).endswith("out")


def test_merge_parquet_files_regroups_rows(parts, tmp_path):
    dst = law.contrib.load("pyarrow").merge_parquet_files(parts, tmp_path / "g.parquet",
                                                          target_row_group_size=4)
    f = pq.ParquetFile(dst)
    assert [f.metadata.row_group(i).num_rows for i in range(f.num_row_groups)] == [4, 2]


def test_merge_refuses_to_replace_without_force_and_leaves_no_partial_file(parts, tmp_path):
    law.contrib.load("pyarrow")
    dst = tmp_path / "m.parquet"
    dst.write_text("keep me")
    with pytest.raises(Exception, match="exists; pass force=True"):
        law.pyarrow.merge_parquet_files(parts, dst, force=False)
    with pytest.raises(FileNotFoundError):
        law.pyarrow.merge_parquet_files(parts + [str(tmp_path / "missing.parquet")], dst)
    assert dst.read_text() == "keep me"  # the failed merge did not touch it
    assert [n for n in os.listdir(tmp_path) if n.startswith(".")] == []


def test_merge_parquet_task_fetches_inputs_and_publishes_its_steps(parts, tmp_path, capsys):
    law.contrib.load("pyarrow")

    class Merge(law.Task):
        def run(self):
            pass

    output = law.LocalFileTarget(str(tmp_path / "task.parquet"))
    law.pyarrow.merge_parquet_task(Merge(), [law.LocalFileTarget(p) for p in parts], output)
    assert pq.read_table(output.path).num_rows == 6
    printed = capsys.readouterr().out
    assert "fetching inputs ..." in printed and "merging 4 parquet files ..." in printed
    assert "merged file size:" in printed
