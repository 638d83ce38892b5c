"""
What runs on the worker node: ``python -m pipekit.job SPEC --status-file FILE``.

The batch script has already sourced the user's bootstrap file. This entry point then imports
the task module, rebuilds the workflow from the job spec (parameters parsed by the task's own
luigi parameters), completes missing requirements of the job's branches with luigi, runs the
branches in this one process with :func:`pipekit.workflow.local.run_branches` (``workers`` of
them in parallel), checks that their outputs exist, writes the exit-status file atomically and
exits with one of the codes below. The job loop reads the exit-status file when the batch system
has already forgotten the job.

``python -m pipekit.job --task module.Class --branches 0,1 [--workers N] -- --param value ...``
does the same without a spec file (see :class:`pipekit.job.base.JobArguments`).
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sys
import time
from typing import Any

__all__ = ["main", "defer_unused_imports", "EXIT_OK", "EXIT_BRANCHES_FAILED", "EXIT_SPEC_ERROR",
           "EXIT_BOOTSTRAP_FAILED", "EXIT_STAGEOUT_FAILED", "EXIT_MESSAGES", "describe_exit_code"]

EXIT_OK = 0
#: at least one branch raised, or finished without writing its outputs
EXIT_BRANCHES_FAILED = 1
#: the spec could not be read, the task module not imported or a parameter not parsed
EXIT_SPEC_ERROR = 2
#: sourcing the bootstrap file failed (set by the batch script, before Python starts)
EXIT_BOOTSTRAP_FAILED = 3
#: sourcing the stage-out file failed (set by the batch script, after Python ended)
EXIT_STAGEOUT_FAILED = 4
EXIT_MESSAGES = {
    EXIT_OK: "all branches finished",
    EXIT_BRANCHES_FAILED: "branches failed",
    EXIT_SPEC_ERROR: "the job could not load its task (spec, import or parameter error)",
    EXIT_BOOTSTRAP_FAILED: "sourcing the bootstrap file failed",
    EXIT_STAGEOUT_FAILED: "sourcing the stage-out file failed",
}


#: third-party modules luigi imports eagerly that a job process does not need unless its task
#: uses them: requests (the central scheduler's RPC) and jsonschema (parameters with a schema)
DEFERRED_MODULES = ("requests", "jsonschema")


class _DeferringFinder:
    """
    A meta-path finder that hands out *names* through :class:`importlib.util.LazyLoader`: the
    module is created at ``import name`` but its code runs on first attribute access. It must
    act at the first import (pre-filling ``sys.modules`` does not work: a later ``import name``
    reads ``name.__spec__``, which loads it).
    """

    def __init__(self, names: tuple[str, ...]):
        self.names = set(names)

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if name not in self.names:
            return None
        import importlib.machinery
        import importlib.util

        self.names.discard(name)
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        spec.loader = importlib.util.LazyLoader(spec.loader)
        return spec


def defer_unused_imports(names: tuple[str, ...] = DEFERRED_MODULES) -> list[str]:
    """
    Make *names* load on first use instead of at ``import luigi`` (with Python's
    :class:`importlib.util.LazyLoader`). A batch farm starts one interpreter per job, and these
    cost ~90 ms of a job's ~250 ms start-up CPU. A task that uses them gets them loaded
    transparently. Only the job process does this; returns the deferred names.
    """
    todo = tuple(n for n in names if n not in sys.modules)
    if todo:
        sys.meta_path.insert(0, _DeferringFinder(todo))
    return list(todo)


def describe_exit_code(code: int | None) -> str:
    """A short explanation of a job exit code."""
    if code is None:
        return "no exit code"
    if code in EXIT_MESSAGES:
        return EXIT_MESSAGES[code]
    if code > 128:
        try:
            return f"killed by {signal.Signals(code - 128).name}"
        except ValueError:
            pass
    return f"exit code {code}"


def _job_usage(branch_usage: dict[str, dict[str, Any]]) -> dict[str, float]:
    """
    CPU seconds and peak RSS of the whole job process so far (kept in the exit-status file).
    The meter resets the process's peak for each branch, so the job's peak is also the largest
    of its branches'.
    """
    from pipekit.workflow.meter import process_usage

    usage = process_usage()
    peaks = [u["maxrss_mb"] for u in branch_usage.values() if u.get("maxrss_mb") is not None]
    usage["maxrss_mb"] = max([usage["maxrss_mb"], *peaks])
    return usage


class _StatusWriter:
    """Collects what happened and writes the exit-status file once."""

    def __init__(self, path: str | None):
        self.path = path
        self.data: dict[str, Any] = {"host": socket.gethostname(), "pid": os.getpid(),
                                     "start": time.time(), "branches": [], "failed": {}}
        self.written = False

    def branch_done(self, branch: int, kind: str, payload: Any, usage: dict[str, Any] | None) -> None:
        """Keep what *branch* cost (``run_branches``' ``on_result``); host and pid are the job's."""
        if usage:
            self.data.setdefault("branch_usage", {})[str(branch)] = {
                k: v for k, v in usage.items() if k not in ("host", "pid")}

    def write(self, code: int, error: str | None = None) -> int:
        if self.written:
            return code
        self.written = True
        self.data.update(exit_code=code, end=time.time(), error=error)
        self.data.update(_job_usage(self.data.get("branch_usage") or {}))
        if self.path:
            from pipekit.job.jsonfile import write_json_atomic

            try:
                write_json_atomic(self.path, self.data)
            except OSError as e:
                print(f"pipekit job: cannot write the exit-status file {self.path}: {e}", flush=True)
        return code


def _parse_args(argv: list[str]) -> argparse.Namespace:
    params: list[str] = []
    if "--" in argv:
        i = argv.index("--")
        argv, params = argv[:i], argv[i + 1:]
    p = argparse.ArgumentParser(prog="python -m pipekit.job",
                                description="run the branches of one remote job")
    p.add_argument("spec", nargs="?", help="job spec file written by the submitting process")
    p.add_argument("--status-file", help="where to write the exit-status JSON file")
    p.add_argument("--task", help="module.Class (instead of a spec file)")
    p.add_argument("--branches", help="comma-separated branches (with --task)")
    p.add_argument("--workers", type=int, default=1, help="branches run in parallel (with --task)")
    args = p.parse_args(argv)
    args.params = params
    if bool(args.spec) == bool(args.task):
        p.error("give either a spec file or --task module.Class --branches B")
    return args


def _load_spec(args: argparse.Namespace) -> Any:
    from pipekit.job.spec import JobSpec

    if args.spec:
        return JobSpec.load(args.spec)
    from pipekit.errors import UsageError

    if not args.branches:
        raise UsageError("--task needs --branches")
    module, _, cls = args.task.rpartition(".")
    if not module:
        raise UsageError(f"--task needs module.Class, got {args.task!r}")
    raw = args.params
    if len(raw) % 2:
        raise UsageError("task parameters after -- must come as pairs: --name value")
    params = {raw[i].lstrip("-").replace("-", "_"): raw[i + 1] for i in range(0, len(raw), 2)}
    return JobSpec(task_module=module, task_class=cls, params=params,
                   branches=[int(b) for b in args.branches.split(",") if b.strip()],
                   workers=args.workers, python_path=[os.getcwd()], cwd=os.getcwd())


def _complete_requirements(wf: Any, branches: list[int], workers: int) -> str | None:
    """Run incomplete requirements of the branches with luigi; an error text when that fails."""
    import luigi

    seen: dict[str, Any] = {}
    for b in branches:
        for req in luigi.task.flatten(wf.branch_task(b).requires()):
            seen.setdefault(req.task_id, req)
    incomplete = [r for r in seen.values() if not r.complete()]
    if not incomplete:
        return None
    print(f"pipekit job: running {len(incomplete)} incomplete requirement(s) first", flush=True)
    luigi.build(incomplete, local_scheduler=True, workers=workers, log_level="WARNING")
    still = [r for r in incomplete if not r.complete()]
    if still:
        return "requirements incomplete after running them: " + ", ".join(map(repr, still[:5]))
    return None


def _use_bundles(spec: Any, job_dir: str | None) -> None:
    """
    Unpack the job's bundles (once per node), put them on the paths, and point the spec's
    module root and law.cfg into them where the bundled directory holds those.
    """
    from pipekit.bundle.node import activate, map_into_bundles, stage_in
    from pipekit.config import Config

    staged = stage_in(spec.bundles, job_dir)
    activate(staged)
    spec.python_path = [map_into_bundles(p, staged) or p for p in spec.python_path]
    var = next((v for v in ("LAW_CONFIG_FILE", "PIPEKIT_CONFIG_FILE") if os.environ.get(v)), None)
    if var:  # set explicitly (exported by the submitter, or the bootstrap file)
        mapped = map_into_bundles(os.environ[var], staged)
        if mapped:
            os.environ[var] = mapped
    else:
        mapped = map_into_bundles(spec.config_file, staged) if spec.config_file else None
        if mapped and os.path.isfile(mapped):
            os.environ["LAW_CONFIG_FILE"] = mapped
    if mapped:
        print(f"pipekit job: configuration {mapped} (from a bundle)", flush=True)
    Config.reset()  # fetching a remote bundle may have read the configuration already


def _outputs_inside(wf: Any, branches: list[int], job_dir: str) -> dict[int, str]:
    """Branches with a local output inside *job_dir*, which is removed when the job ends."""
    from pipekit.target.file import FileSystemTarget
    from pipekit.target.local import LocalFileSystem
    from pipekit.task.base import flatten_outputs

    root = os.path.realpath(job_dir) + os.sep
    out = {}
    for b in branches:
        for t in flatten_outputs(wf.branch_task(b).output()):
            if isinstance(t, FileSystemTarget) and isinstance(t.fs, LocalFileSystem) and \
                    os.path.realpath(t.abspath).startswith(root):
                out[b] = t.abspath
                break
    return out


def _run(spec: Any, status: _StatusWriter, job_dir: str | None = None) -> int:
    from pipekit.provenance.hooks import note_job
    from pipekit.ranges import join_ranges
    from pipekit.workflow.local import run_branches

    wf = spec.build_workflow()
    branches = list(spec.branches)
    status.data["branches"] = branches
    print(f"pipekit job {spec.job_num} attempt {spec.attempt}: {wf.get_task_family()} branches "
          f"{join_ranges(branches)} with {spec.workers} worker(s)", flush=True)
    note_job(job_num=spec.job_num, attempt=spec.attempt)  # provenance records name the job
    error = _complete_requirements(wf, branches, spec.workers)
    failures = ({b: (error, "") for b in branches} if error
                else run_branches(wf, branches, spec.workers, on_result=status.branch_done))
    wf.__dict__.pop("_wf_output", None)
    for b in set(wf.missing_branches()) - set(failures):
        failures[b] = ("run() finished but its outputs do not exist", "")
    if job_dir:
        for b, path in _outputs_inside(wf, sorted(set(branches) - set(failures)), job_dir).items():
            failures[b] = (f"its output {path} is inside the job's own directory, which is "
                           "removed when the job ends; give outputs absolute paths (or remote "
                           "targets) when jobs run in a scratch directory", "")
    for b, (msg, tb) in sorted(failures.items()):
        status.data["failed"][str(b)] = {"error": msg, "traceback": (tb or "")[-4000:]}
        print(f"branch {b} failed: {msg}\n{tb.rstrip()}" if tb else f"branch {b} failed: {msg}",
              flush=True)
    if failures:
        print(f"pipekit job: {len(failures)} of {len(branches)} branches failed", flush=True)
        first = min(failures)
        what = f"branch {first}: {failures[first][0]}"
        if len(failures) > 1:
            what = f"branches {join_ranges(failures)} failed; first: {what}"
        return status.write(EXIT_BRANCHES_FAILED, what)
    print(f"pipekit job: all {len(branches)} branches finished", flush=True)
    return status.write(EXIT_OK)


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(sys.argv[1:] if argv is None else argv)
    status = _StatusWriter(args.status_file)
    main_pid = os.getpid()

    def on_term(signum: int, frame: Any) -> None:
        # a second SIGTERM would re-enter this handler and exit before the status file is
        # written: Slurm signals every process of a job, and a batch script with a stage-out
        # file forwards the signal as well
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        # forked branch workers inherit this handler; only the job's main process reports
        if os.getpid() == main_pid:
            status.write(128 + signum, f"terminated by {signal.Signals(signum).name} (cancelled, "
                         "or a time or memory limit was reached)")
        os._exit(128 + signum)

    signal.signal(signal.SIGTERM, on_term)
    defer_unused_imports()
    from pipekit.errors import PipekitError

    try:
        spec = _load_spec(args)
        status.data.update(job_num=spec.job_num, attempt=spec.attempt, tag=spec.tag)
        # set by the batch script when the job runs in a directory of its own (a scratch
        # directory, HTCondor's transferred files): the submitting directory is not for it
        job_dir = os.environ.get("PIPEKIT_JOB_DIR") or None
        if job_dir is None and spec.cwd and os.path.isdir(spec.cwd) and \
                os.path.realpath(spec.cwd) != os.path.realpath(os.getcwd()):
            os.chdir(spec.cwd)
        if spec.bundles:
            _use_bundles(spec, job_dir)
        from pipekit.cli.execution import setup_logging
        from pipekit.config import Config

        Config.instance()  # law.cfg of the working directory, [luigi_*] sections handed to luigi
        setup_logging(None)
        return _run(spec, status, job_dir)
    except PipekitError as e:
        print(f"pipekit job: {e}", flush=True)
        return status.write(EXIT_SPEC_ERROR if e.exit_code == 2 else EXIT_BRANCHES_FAILED, str(e))
    except Exception as e:
        import traceback

        traceback.print_exc()
        return status.write(EXIT_SPEC_ERROR, f"{type(e).__name__}: {e}")
