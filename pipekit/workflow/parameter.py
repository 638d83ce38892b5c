"""
Parameters specific to workflows: :class:`BranchesParameter` (``--branches 0-9,15,20:``) and
:class:`WorkflowParameter` (select branches by a value in their branch data).
"""

from __future__ import annotations

from typing import Any

from pipekit.parameter import CSVParameter, Parameter
from pipekit.ranges import OPEN, parse_ranges
from pipekit.structure import no_value

__all__ = ["BranchesParameter", "WorkflowParameter"]


class BranchesParameter(Parameter):
    """
    A selection of branches: ``"0-9,15"`` (``A-B`` includes B), ``"0:10"`` (``A:B`` excludes B, as
    in Python), open ends ``":10"`` and ``"20:"``. Parsed into a tuple of ``(value,)`` and
    ``(start, end_exclusive)`` ranges with None for open edges; serialised canonically.
    """

    def __init__(self, *args: Any, **kwargs: Any):
        kwargs.setdefault("default", ())
        super().__init__(*args, **kwargs)

    def parse(self, inp: Any) -> tuple:
        if inp in (None, "", "NO_STR", no_value):
            return ()
        if isinstance(inp, (tuple, list)):
            return self.normalize(inp)
        ranges = parse_ranges(str(inp))
        for r in ranges:
            if any(v is not OPEN and v < 0 for v in r):
                raise ValueError(f"branch ranges cannot hold negative numbers: {inp!r}")
        return ranges

    def normalize(self, x: Any) -> tuple:
        if not x:
            return ()
        if isinstance(x, str):
            return self.parse(x)
        out = []
        for r in x:
            if isinstance(r, int):
                out.append((r,))
            else:
                out.append(tuple(r))
        return tuple(out)

    def serialize(self, value: Any) -> str:
        parts = []
        for r in self.normalize(value):
            if len(r) == 1:
                parts.append(str(r[0]))
            else:
                start, end = r
                parts.append(f"{'' if start is OPEN else start}:{'' if end is OPEN else end}")
        return ",".join(parts)


class WorkflowParameter(CSVParameter):
    """
    A parameter whose value lives in the branch data (``branch_data[name]`` or an attribute):
    setting it selects the matching branch (one value) or branches (several values) instead of
    a branch number. Insignificant, because the branch number already identifies the task.
    """

    def __init__(self, *args: Any, **kwargs: Any):
        kwargs["default"] = no_value
        kwargs["force_tuple"] = False
        kwargs["significant"] = False
        super().__init__(*args, **kwargs)

    def parse(self, inp: Any) -> Any:
        if inp in (None, "", "NO_STR", no_value):
            return no_value
        return super().parse(inp)

    def serialize(self, value: Any) -> str:
        if value in (None, no_value):
            return ""
        return super().serialize(value)

    def normalize(self, x: Any) -> Any:
        return x
