"""
Taking a command's own options out of a task's command line: ``pipekit graph``, ``report`` and
``status`` accept ``TASK --param value ...`` mixed with options of their own, and leave the rest
for the task's parameter parser.
"""

from __future__ import annotations

from typing import Any, Iterable

from pipekit.errors import UsageError

__all__ = ["take_options"]


def take_options(args: list[str], values: dict[str, str], *, flags: dict[str, str] | None = None,
                 repeated: Iterable[str] = (), shadowable: Iterable[str] = (),
                 task_params: Iterable[str] = ()) -> tuple[dict[str, Any], list[str]]:
    """
    Take the options of *values* (spelling → key; ``--opt V`` or ``--opt=V``) and *flags*
    (spelling → key, set to True) out of *args*. Keys in *repeated* collect a list (present,
    maybe empty, in the result); the last value wins for the others. Each name in *shadowable*
    is also spelled ``--name``, unless the task has a parameter of that name (*task_params*):
    then ``--name`` stays with the task. Returns ``(found, remaining args)``.
    """
    names = dict(values)
    params = set(task_params)
    for name in shadowable:
        if name not in params:
            names[f"--{name}"] = name
    flags = flags or {}
    repeated = set(repeated)
    found: dict[str, Any] = {key: [] for key in repeated}
    rest: list[str] = []
    i = 0
    while i < len(args):
        key, has_eq, value = args[i].partition("=")
        if key in flags:
            found[flags[key]] = True
        elif key in names:
            if not has_eq:
                if i + 1 >= len(args):
                    raise UsageError(f"option {key} needs a value")
                value = args[i + 1]
                i += 1
            if names[key] in repeated:
                found[names[key]].append(value)
            else:
                found[names[key]] = value
        else:
            rest.append(args[i])
        i += 1
    return found, rest
