"""
Node-local scratch directories: the batch-script lines that make a job run in a fresh directory
on its node instead of the submitting process's working directory, for every backend whose
factory calls :meth:`pipekit.job.base.BaseJobFileFactory.node_lines` (Slurm, Grid Engine, ...).

With ``scratch_dir`` set in the job config (``[job] scratch_dir``, ``[<type>] scratch_dir`` or the
``<type>_job_config`` hook), each job

1. creates ``<scratch_dir>/pipekit_job_XXXXXXXX`` (``mktemp -d``; ``scratch_dir`` is a shell word
   evaluated on the node, so ``$TMPDIR`` or ``/scratch/$USER`` mean the node's values),
2. copies its job spec and its input files (bootstrap, stage-out and extra input files) there,
3. changes into it, exports ``PIPEKIT_JOB_DIR`` (which tells ``python -m pipekit.job`` not to
   change into the submitting directory) and reads every input from there,
4. removes it when the batch script exits (unless ``keep_scratch``).

The exit-status file is still written into the submission directory, where the loop reads it.
A failure to create or fill the directory fails the job with exit code 3 and says why.
"""

from __future__ import annotations

import re
import shlex
from typing import Callable, Sequence

from pipekit.errors import UsageError

__all__ = ["node_word", "scratch_lines", "SCRATCH_PREFIX"]

#: name prefix of the job directories created below ``scratch_dir``
SCRATCH_PREFIX = "pipekit_job_"


def node_word(value: str, what: str) -> str:
    """
    *value* as a double-quoted shell word that the node expands (``$VAR``, ``${VAR:-x}``, a
    leading ``~/``), refusing what would run commands or break the quoting.
    """
    text = str(value).strip()
    if not text:
        raise UsageError(f"the job's {what} is empty; unset it or give a directory")
    if re.search(r"[`\"\\\n\r]|\$\(", text):
        raise UsageError(f"the job's {what} {value!r} may only use variables ($VAR, ${{VAR:-x}}), "
                         "not quotes, backslashes, backticks or $(...)")
    if text == "~" or text.startswith("~/"):
        text = "$HOME" + text[1:]
    return f'"{text}"'


def scratch_lines(scratch_dir: str, inputs: Sequence[str], keep: bool, exit_code: int,
                  status_line: Callable[[int, str], str]) -> list[str]:
    """
    Bash lines that create the job's scratch directory below *scratch_dir*, copy the job spec
    (``$pk_dir/spec_$pk_idx.json``) and *inputs* (paths on the submit side) into it, change into
    it and point ``$pk_dir`` at it. *status_line(code, message)* writes the exit-status file.
    """
    parent = node_word(scratch_dir, "scratch_dir")
    shown = scratch_dir.replace("'", "")

    def fail(message: str) -> list[str]:
        return ["    " + status_line(exit_code, message), f"    exit {exit_code}", "fi"]

    files = " ".join(['"$pk_dir/spec_$pk_idx.json"', *(shlex.quote(str(p)) for p in inputs)])
    lines = [f'if ! pk_scratch="$(mktemp -d {parent}/{SCRATCH_PREFIX}XXXXXXXX)"; then',
             *fail(f"cannot create a scratch directory below {shown} on this node")]
    if not keep:
        # also after a failed job or a forwarded SIGTERM; only SIGKILL leaves it behind
        lines.append("trap 'cd / && rm -rf \"$pk_scratch\"' EXIT")
    lines += [f'if ! cp {files} "$pk_scratch"/ || ! cd "$pk_scratch"; then',
              *fail("cannot copy the job spec and input files into the scratch directory"),
              'echo "pipekit job: working in the scratch directory $pk_scratch on $(hostname)"',
              'pk_dir="$pk_scratch"',
              'export PIPEKIT_JOB_DIR="$pk_scratch"']
    return lines
