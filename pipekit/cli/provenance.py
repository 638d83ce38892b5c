"""
``pipekit provenance PATH [PATH ...] [--json]``: what made an output, and whether it is still
current.

PATH is a local path or a URI of remote storage (``root://``, ``davs://``, ``s3://`` ...;
looked up among the file systems configured in law.cfg, see
:mod:`pipekit.provenance.locate`). The record is printed with its status, judged against the
current code (the task's module is imported): ``current``, ``outdated: <reasons>`` or
``unknown``. Exit code 0 when every path has a record, 1 when one does not exist or has none.
"""

from __future__ import annotations

import argparse
import json

__all__ = ["execute"]


def execute(args: list[str], prog: str = "pipekit provenance") -> int:
    parser = argparse.ArgumentParser(
        prog=prog, description="Print what made an output (its provenance record) and whether "
        "it is outdated.")
    parser.add_argument("paths", nargs="+", metavar="PATH", help="output path or URI")
    parser.add_argument("--json", action="store_true", help="print the records as JSON")
    opts = parser.parse_args(args)

    import os
    import sys

    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.insert(0, cwd)  # task modules of the analysis, to judge the record by its code
    from pipekit.config import Config
    from pipekit.provenance.check import MISSING, ProvenanceCheck
    from pipekit.provenance.describe import describe
    from pipekit.provenance.locate import target_for

    Config.instance()
    check = ProvenanceCheck()
    found: list[dict] = []
    code = 0
    for i, path in enumerate(opts.paths):
        target = target_for(path)
        verdict = check.target_verdict(target)
        where = target.uri() if not target.uri().startswith("file://") else target.path
        if verdict.status == MISSING:
            print(f"{prog}: {where} does not exist", file=sys.stderr)
            code = 1
            continue
        record = verdict.record
        if record is None:
            print(f"{prog}: {where} has no provenance record: it was made "
                  "before provenance was switched on ([core] provenance: True), or not by a "
                  "pipekit task", file=sys.stderr)
            code = 1
            continue
        if opts.json:
            found.append({**record.to_dict(), "status": verdict.status,
                          "reasons": verdict.reasons})
            continue
        if i:
            print()
        print(f"{'output':<9} {where}")
        for line in describe(record, verdict):
            print(line)
    if opts.json and found:
        print(json.dumps(found[0] if len(opts.paths) == 1 else found, indent=1))
    return code
