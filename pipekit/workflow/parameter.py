"""
Parameters specific to workflows: :class:`BranchesParameter` (``--branches 0-9,15,20:``) and
:class:`WorkflowParameter` (select branches by a value in their branch data), plus the helpers
that translate between the two: :func:`branch_value`, :func:`match_branches` and
:func:`branches_to_ranges`.
"""

from __future__ import annotations

from typing import Any, Iterable

from pipekit.errors import BranchError
from pipekit.parameter import CSVParameter, Parameter
from pipekit.ranges import OPEN, consecutive_runs, join_ranges, parse_ranges
from pipekit.structure import no_value

__all__ = [
    "BranchesParameter",
    "WorkflowParameter",
    "resolve_workflow_params",
    "branch_value",
    "match_branches",
    "branches_to_ranges",
]


class BranchesParameter(Parameter):
    """
    A selection of branches: ``"0-9,15"`` (``A-B`` includes B), ``"0:10"`` (``A:B`` excludes B, as
    in Python and law), open ends ``":10"`` and ``"20:"``. Parsed into a tuple of ``(value,)`` and
    ``(start, end_exclusive)`` ranges with None for open edges; serialised canonically with ``:``
    so that equal selections give equal task ids.
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
        return tuple((r,) if isinstance(r, int) else tuple(r) for r in x)

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
    A parameter whose value lives in the branch data (``branch_data[name]`` or an attribute of
    it). On the command line it selects branches by value instead of by number: one value that
    matches one branch makes the task that branch; several values (``a,b``), or a value several
    branches share, make it the workflow over the matching branches. Insignificant, because the
    branch number (or ``--branches``) already identifies the task.

    Items are parsed by *cls* like :class:`~pipekit.parameter.CSVParameter`
    (``WorkflowParameter(cls=luigi.IntParameter)`` for integer data).
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
        return tuple(x) if isinstance(x, list) else x


def branch_value(branch: int, data: Any, name: str, owner: str = "") -> Any:
    """The value of workflow parameter *name* in the branch data of *branch*."""
    if isinstance(data, dict):
        if name in data:
            return data[name]
    elif hasattr(data, name):
        return getattr(data, name)
    of = f" of {owner}" if owner else ""
    raise BranchError(
        f"branch {branch}{of} has no value for workflow parameter '{name}' in its branch data "
        f"{data!r}; create_branch_map() must put '{name}' into every branch's data"
    )


def match_branches(
    branch_map: dict[int, Any], wanted: dict[str, Any], owner: str = ""
) -> list[int]:
    """
    Branches whose data matches every ``name: value`` in *wanted*; a tuple value matches any of
    its elements.
    """
    accepted = {name: set(v) if isinstance(v, tuple) else {v} for name, v in wanted.items()}
    return [
        b
        for b, data in branch_map.items()
        if all(branch_value(b, data, name, owner) in values for name, values in accepted.items())
    ]


def branches_to_ranges(branches: Iterable[int]) -> tuple:
    """Branch numbers as the tuple of ranges :class:`BranchesParameter` holds (runs joined)."""
    return tuple((a,) if a == b else (a, b + 1) for a, b in consecutive_runs(branches))


def resolve_workflow_params(cls: type, values: dict[str, Any]) -> dict[str, Any]:
    """
    The parameter *values* of a new instance of workflow class *cls* with its workflow parameters
    resolved: values matching one branch make it that branch, values matching several make it
    the workflow with ``branches`` set to them; a branch gets the values from its data.
    """
    names = cls.workflow_param_names()
    wanted = {n: values[n] for n in names if values[n] is not no_value}
    branch = values.get("branch", -1)
    if not wanted and branch == -1:
        return values
    owner = cls.__name__
    full = cls._provisional(values).get_branch_map(reduce_branches=False)
    if not wanted:
        # unknown branches are reported later (validate_branch_selection, branch_data) with
        # the list of existing ones
        if branch in full:
            values.update({n: branch_value(branch, full[branch], n, owner) for n in names})
        return values
    params = dict(cls.get_params())
    shown = " ".join(f"--{n.replace('_', '-')} {params[n].serialize(v)}" for n, v in wanted.items())
    matched = match_branches(full, wanted, owner)
    if not matched:
        raise BranchError(f"{shown} matches no branch of {owner}")
    if len(matched) == 1 and not any(isinstance(v, tuple) for v in wanted.values()):
        if branch not in (-1, matched[0]):
            raise BranchError(f"{shown} is branch {matched[0]} of {owner}, not --branch {branch}")
        values["branch"] = matched[0]
        values.update({n: branch_value(matched[0], full[matched[0]], n, owner) for n in names})
        return values
    if branch != -1 or values.get("branches"):
        raise BranchError(
            f"{shown} selects branches {join_ranges(matched, max_ranges=6)} of {owner}; "
            "give either workflow parameters or --branch / --branches, not both"
        )
    values["branches"] = branches_to_ranges(matched)
    return values
