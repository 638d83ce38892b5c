"""
law's ``root`` package: ROOT file formatters (``uproot``: pure Python, ``pip install
'pipekit[hep]'``; ``root``: PyROOT's :class:`GuardedTFile`; ``root_numpy`` / ``root_pandas``
for old analyses), :func:`import_ROOT` and :func:`hadd_task` (merge ROOT files with ROOT's
``hadd``, in cascades for many inputs).

PyROOT is not on PyPI: without it, :func:`import_ROOT` and the ``root`` formatter raise one
clear error saying how to get ROOT or to use ``formatter="uproot"``. Loading this package makes
``.root`` files use, as in law, the first of root, root_numpy, root_pandas, uproot that is
registered for ``formatter="auto"``: name the one you want (``formatter="uproot"``).
"""

from __future__ import annotations

import os
from typing import Any, Sequence

from pipekit.errors import TargetError
from pipekit.target.formatter import activate_contrib
from pipekit.target.hep_formats import (
    GuardedTFile,
    ROOTFormatter,
    ROOTNumpyFormatter,
    ROOTPandasFormatter,
    UprootFormatter,
    import_ROOT,
)

__all__ = ["import_ROOT", "hadd_task", "ROOTFormatter", "ROOTNumpyFormatter",
           "ROOTPandasFormatter", "UprootFormatter", "GuardedTFile"]

activate_contrib("root")  # its formatters join formatter="auto" in load order, as in law


def _hadd(cwd: str, inputs: list[str], output: str, cascade_size: int, hadd_args: Sequence[str],
          depth: int = 0) -> None:
    from pipekit.shell import run_command, which
    from pipekit.structure import iter_chunks

    if which("hadd") is None:
        raise TargetError("hadd_task() needs ROOT's 'hadd' on PATH; set up ROOT first (e.g. "
                          "source thisroot.sh) or merge with uproot")
    if 0 < cascade_size < len(inputs):
        # many inputs: merge chunks first so no command line gets too long
        parts = []
        for i, chunk in enumerate(iter_chunks(inputs, cascade_size)):
            part = f"cascade_d{depth}_i{i}_{os.path.basename(output)}"
            _hadd(cwd, list(chunk), part, cascade_size, hadd_args, depth + 1)
            parts.append(part)
        _hadd(cwd, parts, output, cascade_size, hadd_args, depth + 1)
        for part in parts:
            os.remove(os.path.join(cwd, part))
        return
    run_command(["hadd", "-n", "0", "-d", cwd, *hadd_args, output, *inputs], cwd=cwd, timeout=None)


def hadd_task(task: Any, inputs: Sequence[Any], output: Any, cwd: Any = None, local: bool = False,
              force: bool = True, cascade_size: int = 0, hadd_args: Sequence[str] | None = None) -> None:
    """
    Merge the ROOT files *inputs* (targets or paths) into *output* with ``hadd``, publishing
    steps through *task*. Unless *local*, inputs are fetched into *cwd* (a temporary directory
    by default) and the output is written through ``output.localize("w")``. *cascade_size* > 0
    merges in steps of that many files; *hadd_args* are added to every hadd call. An existing
    output is replaced when *force*.
    """
    from pipekit.humanize import human_bytes
    from pipekit.structure import make_list, map_verbose
    from pipekit.target.file import FileSystemFileTarget
    from pipekit.target.local import LocalDirectoryTarget, LocalFileTarget

    def absolute(p: Any) -> str:
        return os.path.abspath(os.path.expandvars(os.path.expanduser(str(p))))

    inputs = [i if isinstance(i, FileSystemFileTarget) else LocalFileTarget(absolute(i))
              for i in inputs]
    if not isinstance(output, FileSystemFileTarget):
        output = LocalFileTarget(absolute(output))
    if not cwd:
        cwd = LocalDirectoryTarget(is_tmp=True)
    elif isinstance(cwd, str):
        cwd = LocalDirectoryTarget(absolute(cwd))
    cwd.touch()
    extra = [str(a) for a in make_list(hadd_args or [])]

    def merge(paths: list[str], dst: Any) -> None:
        with task.publish_step("merging ...", runtime=True):
            if dst.exists():
                if not force:
                    raise TargetError(f"hadd_task(): {dst.path} exists; pass force=True")
                dst.remove()
            if len(paths) == 1:
                dst.copy_from_local(paths[0])
            else:
                _hadd(cwd.path, paths, dst.path, cascade_size, extra)
        if not dst.exists():
            raise TargetError(f"hadd_task(): hadd did not create {dst.path}")
        task.publish_message(f"merged file size: {human_bytes(dst.stat().st_size, fmt=True)}")

    if local:
        merge([i.path for i in inputs], output)
        return
    with task.publish_step("fetching inputs ...", runtime=True):
        def fetch(inp: Any) -> str:
            local_inp = cwd.child(inp.unique_basename, type="f")
            inp.copy_to_local(local_inp)
            return local_inp.path

        paths = map_verbose(fetch, inputs, every=5, callback=lambda i: task.publish_message(
            f"fetch file {i + 1} / {len(inputs)}"))
    with output.localize("w") as tmp_output:
        merge(paths, tmp_output)
