"""
The files of an ARC submission, written by :class:`ARCJobFileFactory` with the settings of an
:class:`ARCJobConfig`:

- ``job_<index>.xrsl``, one xRSL job description per job (``arcsub`` takes them all in one
  call): the job script and its argument, the job name ``pk_<Family>_<tag>_<index>``, the input
  files ARC stages to the CE (job script, job spec, bootstrap and stage-out file, extra input
  files such as an analysis bundle), the exit-status file kept for ``arcget``, the log
  (stdout and stderr joined), and the resources.
- ``job.sh``, the bash job script: it runs in the job's session directory on the CE, sources
  the bootstrap file, runs ``python -m pipekit.job spec_<index>.json`` and an optional stage-out
  file (:meth:`pipekit.job.base.BaseJobFileFactory.node_lines`).

No shared file system is assumed: everything the job reads travels in ``inputFiles`` (an input
given as a URL, e.g. ``root://...`` or ``https://...``, is fetched by the CE itself), and what the
loop reads afterwards (exit-status file, log) comes back with ``arcget``.
"""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass, field
from typing import Any

from pipekit.batch.arc_status import job_name
from pipekit.config import Config
from pipekit.errors import UsageError
from pipekit.job.base import BaseJobFileFactory, JobConfig, JobFile, SubmissionPlan, config_seconds

__all__ = ["ARCJobConfig", "ARCJobFileFactory", "xrsl_value", "split_list"]


def split_list(raw: Any) -> list[str]:
    """A list from law.cfg: comma- or whitespace-separated (``ce = a, b``), or a Python list."""
    if raw in (None, ""):
        return []
    if isinstance(raw, (list, tuple)):
        return [str(v).strip() for v in raw if str(v).strip()]
    return [v for v in re.split(r"[\s,]+", str(raw)) if v]


@dataclass
class ARCJobConfig(JobConfig):
    """
    :class:`JobConfig` plus the ARC settings of a submission (None: the CE's default).
    ``custom_content`` items are extra xRSL attributes: ``("rerun", 2)`` becomes
    ``(rerun="2")``, a string is taken as it is (``'(priority="60")'``). ``extra_args`` are
    arcsub options.
    """

    #: computing elements (``https://ce.example.org/arex`` or a host name); the jobs of a
    #: submission are dealt to them in turn
    computing_elements: list[str] = field(default_factory=list)
    #: submission interface (``arcsub -T``): arcrest (default), emies, gridftpjob
    interface: str = "arcrest"
    queue: str | None = None
    #: wallTime per job: seconds, or a duration such as "2h" or "01:30:00"
    walltime: Any = None
    #: memory per job in MB (xRSL ``memory``)
    memory: int | None = None
    cpus: int | None = None
    #: runtime environments the CE must provide (xRSL ``runTimeEnvironment``)
    runtime_environments: list[str] = field(default_factory=list)
    #: more files every job gets in its session directory: paths, :class:`JobInputFile` or URLs
    #: the CE fetches itself (an analysis bundle, for instance)
    input_files: list[Any] = field(default_factory=list)
    #: more files of the session directory to bring back with arcget (next to the job's log)
    output_files: list[str] = field(default_factory=list)
    #: the proxy arcsub delegates to the jobs (set by the credential check)
    proxy_file: str | None = None
    #: end the job when the CE finished it (ARC's fork LRMS cannot kill a cancelled job)
    cancel_guard: bool = True


def xrsl_value(value: Any, what: str) -> str:
    """*value* as a quoted xRSL string (a double quote inside is doubled)."""
    text = str(value)
    if "\n" in text or "\r" in text:
        raise UsageError(f"the xRSL {what} {value!r} contains a newline")
    return '"' + text.replace('"', '""') + '"'


def _is_url(path: Any) -> bool:
    return isinstance(path, str) and re.match(r"^[a-z][a-z0-9+.-]*://", path) is not None


class ARCJobFileFactory(BaseJobFileFactory):
    """Writes one xRSL description per job and the job script they share."""

    script_name = "job_0.xrsl"
    script_label = "xRSL job description"
    wrapper_name = "job.sh"
    #: the job's session directory on the CE: its working directory
    session_dir = '"$PWD"'

    def new_config(self) -> ARCJobConfig:
        """A config with the defaults of the ``[arc]`` section of law.cfg."""
        cfg = Config.instance()
        get = cfg.get_expanded
        config = ARCJobConfig(
            computing_elements=split_list(get("arc", "ce", None)),
            interface=get("arc", "interface", None) or "arcrest",
            queue=get("arc", "queue", None),
            walltime=get("arc", "walltime", None),
            memory=cfg.get_expanded_int("arc", "memory", None),
            cpus=cfg.get_expanded_int("arc", "cpus", None),
            runtime_environments=split_list(get("arc", "runtime_environments", None)),
            cancel_guard=cfg.get_expanded_bool("arc", "cancel_guard", True),
        )
        lines = get("arc", "xrsl_lines", None) or ""
        config.custom_content = [line.strip() for line in lines.splitlines() if line.strip()]
        config.extra_args = shlex.split(get("arc", "arcsub_args", None) or "")
        return config

    # -- files ----------------------------------------------------------------------------------

    def xrsl_file(self, plan: SubmissionPlan, index: int) -> str:
        return os.path.join(plan.directory, f"job_{index}.xrsl")

    def job_files(self, plan: SubmissionPlan, config: JobConfig) -> list[JobFile]:
        """One xRSL description per job (arcsub gets them all), then the job script."""
        c = self._arc(config)
        files = [JobFile(f"{self.script_label} of job index {i}", self.xrsl_file(plan, i),
                         self.render_xrsl(plan, c, i), executable=False) for i in range(len(plan))]
        files.append(JobFile("job script (every job runs it with its index)",
                             os.path.join(plan.directory, self.wrapper_name),
                             self.render_script(plan, c)))
        return files

    def render(self, plan: SubmissionPlan, config: JobConfig) -> str:
        """The xRSL description of the first job (the others differ in their index)."""
        return self.render_xrsl(plan, self._arc(config), 0)

    @staticmethod
    def _arc(config: JobConfig) -> ARCJobConfig:
        return config if isinstance(config, ARCJobConfig) else ARCJobConfig(**vars(config))

    def input_files(self, config: JobConfig) -> list[Any]:
        """The bootstrap and stage-out files, and ``input_files`` (all staged to the CE)."""
        return super().input_files(config) + list(getattr(config, "input_files", []))

    def resolve_inputs(self, plan: SubmissionPlan, config: JobConfig, write: bool = True) -> None:
        """Also resolve ``input_files`` (URLs stay as they are: the CE fetches them)."""
        extra = list(getattr(config, "input_files", []))
        if isinstance(config, ARCJobConfig):
            config.input_files = []  # the base class checks and copies local files only
        super().resolve_inputs(plan, config, write)
        if isinstance(config, ARCJobConfig):
            config.input_files = [f if _is_url(f) else self.provide_input(plan, config, f, write,
                                                                          what="input_files")
                                  for f in extra if f not in (None, "")]

    # -- the xRSL description -------------------------------------------------------------------

    def staged_inputs(self, plan: SubmissionPlan, c: ARCJobConfig, index: int) -> list[tuple[str, str]]:
        """``(name in the session directory, source)`` of every input file of job *index*."""
        # everything the base factory lists as job input (bootstrap, stage-out file, analysis
        # bundles, ...) plus ours: a new kind of input file reaches ARC jobs without a change here
        sources = [os.path.join(plan.directory, self.wrapper_name), plan.spec_file(index)]
        sources += list(dict.fromkeys(str(p) for p in self.input_files(c) if p not in (None, "")))
        pairs = [(os.path.basename(s.rstrip("/")) if not _is_url(s) else s.rsplit("/", 1)[-1], s)
                 for s in sources]
        names = [n for n, _ in pairs]
        clash = sorted({n for n in names if names.count(n) > 1})
        if clash:
            raise UsageError(f"ARC job input files share the name(s) {', '.join(clash)}; they land "
                             "in one session directory on the CE, so rename them")
        return pairs

    def render_xrsl(self, plan: SubmissionPlan, c: ARCJobConfig, index: int) -> str:
        q = xrsl_value
        n = len(plan)
        inputs = "".join(f"({q(name, 'input file name')} {q(src, 'input file')})"
                         for name, src in self.staged_inputs(plan, c, index))
        status, log = (os.path.basename(p) for p in (plan.status_file(index), plan.log_file(index)))
        outputs = "".join(f"({q(name, 'output file')} \"\")" for name in [status, *c.output_files])
        lines = [
            f"(* pipekit: job index {index} of submission {plan.tag} ({n} jobs), ledger job "
            f"{plan.job_nums[index]} *)",
            "&",
            f"(executable={q(self.wrapper_name, 'job script')})",
            f"(arguments={q(index, 'argument')})",
            f"(jobName={q(job_name(plan.job_name, index), 'job name')})",
            f"(inputFiles={inputs})",
            f"(outputFiles={outputs})",
            f"(stdout={q(log, 'log file')})",
            '(join="yes")',
        ]
        lines += self._resource_lines(c)
        lines += [self.create_line(item) for item in c.custom_content]
        return "\n".join(lines) + "\n"

    def _resource_lines(self, c: ARCJobConfig) -> list[str]:
        q = xrsl_value
        lines = []
        if c.walltime not in (None, ""):
            minutes = config_seconds(c.walltime, "ARC walltime", unit=60)
            lines.append(f"(wallTime={q(minutes, 'walltime')})")  # xRSL: minutes
        if c.memory:
            lines.append(f"(memory={q(int(c.memory), 'memory')})")  # xRSL: MB
        if c.cpus:
            lines.append(f"(count={q(int(c.cpus), 'cpu count')})")
        if c.queue:
            lines.append(f"(queue={q(c.queue, 'queue')})")
        for rte in c.runtime_environments:
            lines.append(f"(runTimeEnvironment={q(rte, 'runtime environment')})")
        return lines

    @staticmethod
    def create_line(item: Any) -> str:
        """``("rerun", 2)`` -> ``(rerun="2")``; a string is one xRSL relation as it is."""
        if isinstance(item, str):
            line = item.strip()
            if not (line.startswith("(") and line.endswith(")")):
                raise UsageError(f"xRSL line {line!r} must be one relation in parentheses, e.g. "
                                 '(rerun="2")')
        elif isinstance(item, (list, tuple)) and len(item) == 2:
            key = str(item[0]).strip()
            if not re.match(r"^[A-Za-z][A-Za-z0-9_]*$", key):
                raise UsageError(f"xRSL attribute name {key!r} is not valid")
            line = f"({key}={xrsl_value(item[1], key)})"
        else:
            raise UsageError(f"cannot turn {item!r} into an xRSL line; use ('attribute', 'value') "
                             "or a string")
        if "\n" in line:
            raise UsageError(f"xRSL line {line!r} contains a newline")
        return line

    # -- the job script -------------------------------------------------------------------------

    def render_script(self, plan: SubmissionPlan, c: ARCJobConfig) -> str:
        """The bash script every job of *plan* runs in its session directory, index as ``$1``."""
        lines = ["#!/usr/bin/env bash",
                 f"# pipekit job script of ARC submission {plan.tag} ({len(plan)} jobs); "
                 "argument 1 is the job's index in it",
                 "exec 2>&1  # one log per job: stderr joins stdout"]
        if c.cancel_guard:
            lines += self.guard_lines()
        node = self.node_lines(plan, c, "$1", job_dir=self.session_dir)
        # the exit-status file is a declared output: ARC fails a job whose outputs are missing
        at = next(i for i, line in enumerate(node) if line.startswith("pk_status=")) + 1
        node.insert(at, ': > "$pk_status"')
        return "\n".join(lines + node) + "\n"

    def guard_lines(self) -> list[str]:
        """
        ARC's fork LRMS cannot cancel a running job: it kills a process id recorded at
        submission, whose process has already gone, so the job runs on. What the job does see
        is A-REX finishing it: the CE removes the job's input files (this script among them)
        from the session directory, and an LRMS that kills only the job's wrapper re-parents
        the rest. A background check every 2 s notices either and sends SIGTERM to the job,
        which then ends as cancelled (writing its exit-status file). It stops when the job ends.
        """
        def ppid(pid: str) -> str:
            return f'$(ps -o ppid= -p {pid} 2>/dev/null | tr -d " ")'

        script = shlex.quote(self.wrapper_name)
        grand, now = ppid('"$PPID"'), ppid('"$pk_parent"')
        return [
            "if command -v ps >/dev/null; then",
            f'    pk_parent=$PPID; pk_grand={grand}; pk_script="$PWD"/{script}',
            "    ( while sleep 2; do",
            "        kill -0 $$ 2>/dev/null || break",
            f'        [ -e "$pk_script" ] && [ "{now}" = "$pk_grand" ] && continue',
            "        kill -TERM $$ 2>/dev/null; break",
            "      done ) </dev/null >/dev/null 2>&1 &",
            "fi",
        ]
