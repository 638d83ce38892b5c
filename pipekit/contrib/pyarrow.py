"""
law's ``pyarrow`` package: the parquet formatters (``parquet``: a ``ParquetFile``;
``parquet_table``: a table) and the merging helpers :func:`merge_parquet_files` and
:func:`merge_parquet_task` (for merge tasks such as ``ForestMerge``). Needs
``pip install 'pipekit[hep]'`` (or ``[parquet]``).

The merged file is written to a temporary sibling and renamed at the end, so a failed merge
never leaves a truncated parquet file at the destination.
"""

from __future__ import annotations

import os
import shutil
from collections import deque
from typing import Any, Callable, Sequence

from pipekit.errors import TargetError
from pipekit.target.formatter import activate_contrib, require_module
from pipekit.target.hep_formats import ParquetFormatter, ParquetTableFormatter

__all__ = ["merge_parquet_files", "merge_parquet_task", "ParquetFormatter",
           "ParquetTableFormatter"]

activate_contrib("pyarrow")  # its formatters join formatter="auto" in load order, as in law


def _abspath(path: Any) -> str:
    return os.path.abspath(os.path.expandvars(os.path.expanduser(str(getattr(path, "path", path)))))


def _first_schema(pq: Any, paths: list[str]) -> Any:
    # the schema of the first file with rows (the last file's when all are empty)
    for i, path in enumerate(paths):
        if i == len(paths) - 1 or pq.ParquetFile(path).metadata.num_rows > 0:
            return pq.read_schema(path)
    raise TargetError("merge_parquet_files(): no source file to take a schema from")


def _write_grouped(pq: Any, pa: Any, writer: Any, paths: list[str], size: int,
                   skip_empty: bool, callback: Callable[[int], Any]) -> None:
    """Write the row groups of *paths* regrouped into groups of *size* rows (the last: fewer)."""
    pending: deque = deque()
    n_pending = 0
    for i, path in enumerate(paths):
        f = pq.ParquetFile(path)
        for g in range(f.num_row_groups):
            table = f.read_row_group(g)
            if skip_empty and table.num_rows == 0:
                continue
            pending.append(table)
            n_pending += table.num_rows
            while n_pending >= size:
                merged = pa.concat_tables(list(pending))
                writer.write_table(merged.slice(0, size))
                rest = merged.slice(size)
                pending.clear()
                if rest.num_rows:
                    pending.append(rest)
                n_pending = rest.num_rows
        callback(i)
    if pending:
        writer.write_table(pa.concat_tables(list(pending)))


def merge_parquet_files(src_paths: Sequence[Any], dst_path: Any, force: bool = True,
                        callback: Callable[[int], Any] | None = None,
                        writer_opts: dict | None = None, copy_single: bool = False,
                        skip_empty: bool = True, target_row_group_size: int = 0) -> str:
    """
    Merge the parquet files *src_paths* into *dst_path* (directories are created) and return
    its absolute path. An existing destination is replaced when *force*, else an error.
    *callback(i)* is called after source *i*; *writer_opts* go to ``pyarrow.parquet.ParquetWriter``.
    A single source is copied when *copy_single*. Empty tables are skipped unless *skip_empty*
    is False. With *target_row_group_size* > 0 the output's row groups hold that many rows
    (the last one fewer).
    """
    pa = require_module("pyarrow", "hep", "merging parquet files")
    pq = require_module("pyarrow.parquet", "hep", "merging parquet files")
    if not src_paths:
        raise TargetError("merge_parquet_files(): no source files given")
    callback = callback if callable(callback) else (lambda i: None)
    srcs = [_abspath(p) for p in src_paths]
    dst = _abspath(dst_path)
    if os.path.exists(dst) and not force:
        raise TargetError(f"merge_parquet_files(): {dst} exists; pass force=True to replace it")
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    from pipekit.target.local import replace_path, tmp_sibling_path

    tmp = tmp_sibling_path(dst)
    try:
        if copy_single and len(srcs) == 1 and target_row_group_size <= 0:
            shutil.copyfile(srcs[0], tmp)
            callback(0)
        else:
            with pq.ParquetWriter(tmp, _first_schema(pq, srcs), **(writer_opts or {})) as writer:
                if target_row_group_size > 0:
                    _write_grouped(pq, pa, writer, srcs, target_row_group_size, skip_empty, callback)
                else:
                    for i, path in enumerate(srcs):
                        table = pq.read_table(path)
                        if table.num_rows or not skip_empty:
                            writer.write_table(table)
                        callback(i)
        replace_path(tmp, dst)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return dst


def merge_parquet_task(task: Any, inputs: Sequence[Any], output: Any, local: bool = False,
                       cwd: Any = None, force: bool = True, **kwargs: Any) -> None:
    """
    Merge the parquet *inputs* (targets or paths) into *output* for *task*, publishing its
    steps and the merged size through ``task.publish_step`` / ``publish_message``. Unless
    *local*, inputs are fetched into *cwd* (a temporary directory by default) and the output is
    written through ``output.localize("w")``, so remote inputs and outputs work. *kwargs* go to
    :func:`merge_parquet_files`.
    """
    from pipekit.humanize import human_bytes
    from pipekit.structure import map_verbose
    from pipekit.target.file import FileSystemFileTarget
    from pipekit.target.local import LocalDirectoryTarget, LocalFileTarget

    inputs = [i if isinstance(i, FileSystemFileTarget) else LocalFileTarget(_abspath(i))
              for i in inputs]
    if not isinstance(output, FileSystemFileTarget):
        output = LocalFileTarget(_abspath(output))

    def merge(paths: list[str], dst: Any) -> None:
        with task.publish_step(f"merging {len(paths)} parquet files ...", runtime=True):
            merge_parquet_files(paths, dst.path, force=force, **kwargs)
        task.publish_message(f"merged file size: {human_bytes(os.path.getsize(dst.path), fmt=True)}")

    if local:
        merge([i.path for i in inputs], output)
        return
    if not cwd:
        cwd = LocalDirectoryTarget(is_tmp=True)
    elif isinstance(cwd, str):
        cwd = LocalDirectoryTarget(_abspath(cwd))
    cwd.touch()
    with task.publish_step("fetching inputs ...", runtime=True):
        def fetch(inp: Any) -> str:
            local = cwd.child(inp.unique_basename, type="f")
            inp.copy_to_local(local)
            return local.path

        local_paths = map_verbose(fetch, inputs, every=5, callback=lambda i: task.publish_message(
            f"fetch file {i + 1} / {len(inputs)}"))
    with output.localize("w") as tmp_output:
        merge(local_paths, tmp_output)
