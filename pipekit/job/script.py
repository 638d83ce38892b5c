"""
:class:`NodeLines`: the bash lines every backend's batch script ends with, shared by all
backends through :class:`pipekit.job.base.BaseJobFileFactory` — the job's environment, the
node-local scratch directory (:mod:`pipekit.job.scratch`), sourcing the bootstrap file, running
``python -m pipekit.job SPEC --status-file F``, and sourcing the stage-out file after it, with an
exit-status file written for every way this can fail.
"""

from __future__ import annotations

import json
import os
import re
import shlex
from typing import TYPE_CHECKING, Any

from pipekit.errors import UsageError
from pipekit.job.scratch import node_word, scratch_lines

if TYPE_CHECKING:
    from pipekit.job.base import JobConfig, SubmissionPlan

__all__ = ["NodeLines"]


class NodeLines:
    """
    The node part of a batch script (mixed into :class:`~pipekit.job.base.BaseJobFileFactory`,
    whose :attr:`bootstrap_exit_code`, :attr:`stageout_exit_code` and :meth:`scratch_inputs` it
    uses).
    """

    bootstrap_exit_code: int
    stageout_exit_code: int
    scratch_inputs: Any  # (config) -> the input files a job copies into its scratch directory

    def node_lines(self, plan: SubmissionPlan, config: JobConfig, index_expr: str,
                   job_dir: str | None = None) -> list[str]:
        """
        The bash lines every backend's script ends with: set the environment, source the
        bootstrap file (on failure: write an exit-status file and exit with
        :attr:`bootstrap_exit_code`), run ``python -m pipekit.job SPEC --status-file F``, and
        source the stage-out file after it (:meth:`stageout_lines`). *index_expr* is the shell
        expression of the array index (``$SLURM_ARRAY_TASK_ID``). *job_dir* is the shell
        expression of the directory the job's files were transferred to on the node (HTCondor's
        scratch directory); None: jobs read them in the submission directory, or, with
        ``config.scratch_dir``, copy them into a node-local scratch directory first
        (:mod:`pipekit.job.scratch`). Both export ``PIPEKIT_JOB_DIR``, the job's directory.
        """
        q = shlex.quote
        lines = [f"pk_dir={job_dir or q(plan.directory)}", f'pk_idx="{index_expr}"',
                 'pk_status="$pk_dir/status_$pk_idx.json"']
        for name, value in config.env.items():
            if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", str(name)):
                raise UsageError(f"job environment variable name {name!r} is not a valid shell name")
            lines.append(f"export {name}={q(str(value))}")
        if config.bundle_cache:
            lines.append(f"export PIPEKIT_BUNDLE_CACHE={node_word(config.bundle_cache, 'bundle_cache')}")
        scratch = job_dir is None and bool(config.scratch_dir)
        if scratch:
            lines += scratch_lines(config.scratch_dir, self.scratch_inputs(config),
                                   config.keep_scratch, self.bootstrap_exit_code, self._status_line)
            job_dir = '"$pk_dir"'  # the inputs were copied there
        elif job_dir is not None:
            lines.append('export PIPEKIT_JOB_DIR="$pk_dir"')
        if config.bootstrap_file:
            boot, shown = self._node_path(config.bootstrap_file, job_dir)
            lines += [f"if ! source {boot}; then",
                      "    " + self._status_line(self.bootstrap_exit_code,
                                                f"sourcing the bootstrap file {shown} failed"),
                      f"    exit {self.bootstrap_exit_code}",
                      "fi"]
        command = (f'{q(config.python)} -m pipekit.job "$pk_dir/spec_$pk_idx.json" '
                   '--status-file "$pk_status"')
        if config.stageout_file:
            return lines + self.stageout_lines(command, *self._node_path(config.stageout_file, job_dir))
        if scratch:  # not exec: the shell must live on to remove the scratch directory
            return lines + self.child_lines(command) + ['exit "$pk_code"']
        return lines + [f"exec {command}"]

    @staticmethod
    def child_lines(command: str) -> list[str]:
        """
        Run the node *command* as a child of the batch script, forwarding SIGTERM and SIGINT to
        it (so that a cancelled job still writes its exit-status file); ``$pk_code`` is then its
        exit code.
        """
        return [
            f"{command} &",
            "pk_pid=$!",
            "trap 'kill -TERM \"$pk_pid\" 2>/dev/null' TERM INT",
            'wait "$pk_pid"; pk_code=$?',
            'while kill -0 "$pk_pid" 2>/dev/null; do wait "$pk_pid"; pk_code=$?; done',
            "trap - TERM INT",
        ]

    def stageout_lines(self, command: str, stageout: str, shown: str) -> list[str]:
        """
        Run the node *command* as a child (forwarding SIGTERM, so that a cancelled job still
        writes its exit-status file), then source the stage-out file (*stageout*: its shell
        expression, *shown*: its name in messages) in a subshell with the job's exit code as
        ``$1`` — also after failed branches, so that the outputs of the others are staged out.
        A job killed by a signal is not staged out. A failing stage-out makes the job fail with
        :attr:`stageout_exit_code`, which resubmits all its branches; so does a job that ends
        *while* sourcing it (cancelled, out of time): the exit-status file says so until the
        stage-out returned, then the node's own status is put back.
        """
        code = self.stageout_exit_code
        after = ", after the branches failed with exit code $pk_code"
        killed = (f"the job ended while sourcing the stage-out file {shown} (cancelled, out of "
                  "time or its node failed)")
        return self.child_lines(command) + [
            'if [ "$pk_code" -gt 128 ]; then exit "$pk_code"; fi',
            'rm -f "$pk_status.node"; [ ! -f "$pk_status" ] || cp -f "$pk_status" "$pk_status.node"',
            self._status_line(code, killed, running_stageout=True),
            # a subshell: an `exit` in the file ends the stage-out, not the script unreported
            f'if ! ( source {stageout} "$pk_code" ); then',
            f'    pk_after=""; [ "$pk_code" -eq 0 ] || pk_after="{after}"',
            "    " + self._status_line(code, f"sourcing the stage-out file {shown} failed",
                                       '"$pk_after"'),
            f"    exit {code}",
            "fi",
            'if [ -f "$pk_status.node" ]; then mv -f "$pk_status.node" "$pk_status"; '
            'else rm -f "$pk_status"; fi',
            'exit "$pk_code"',
        ]

    @staticmethod
    def _node_path(path: Any, job_dir: str | None) -> tuple[str, str]:
        """(shell expression, name in messages) of an input file as the job sees it."""
        if job_dir is None:
            return shlex.quote(str(path)), str(path)
        name = os.path.basename(str(path))  # transferred into the job's directory
        return f'"$pk_dir"/{shlex.quote(name)}', name

    @staticmethod
    def _status_line(code: int, message: str, suffix: str = "''", running_stageout: bool = False) -> str:
        """
        A bash line writing the exit-status file ``{"exit_code": code, "error": message}``, with
        the shell word *suffix* appended to the message on the node. The message is an argument
        of printf, never its format, so percent signs and backslashes in paths stay as they are.
        *running_stageout* adds ``"stageout": "running"``: the status holds only if the job ends
        before the stage-out returns (see :meth:`stageout_lines`).
        """
        text = shlex.quote(json.dumps(message)[1:-1])
        extra = ', \"stageout\": \"running\"' if running_stageout else ""
        return (f"printf '{{\"exit_code\": {code}, \"error\": \"%s%s\"{extra}}}\\n' {text} {suffix}"
                ' > "$pk_status.tmp" && mv -f "$pk_status.tmp" "$pk_status"')
