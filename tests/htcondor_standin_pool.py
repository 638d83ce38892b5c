"""
A STAND-IN FOR AN HTCONDOR POOL, used by tests/test_htcondor_standin_pool.py (and the report test
of an HTCondor workflow in tests/test_cli_report.py)
to drive HTCondorWorkflow through the real job loop. No HTCondor daemons can be installed on
these machines (no Debian package; the PyPI wheels hold only the Python bindings), so this module
provides ``condor_submit``, ``condor_q``, ``condor_history`` and ``condor_rm`` executables that
keep a queue in a JSON file and run the jobs as local processes.

What is real in it: ``condor_submit`` reads the submit description with the official HTCondor
bindings (``htcondor.Submit`` -> ``itemdata()`` -> ``jobs()``), so every job it starts is the job
ClassAd HTCondor builds from pipekit's description (executable, arguments, initial directory,
output / error paths, environment); constraints are evaluated by the official ``classad``
library. What is not: matchmaking, slots, file transfer, the event log, preemption, daemons and
their timing. Jobs start at the next command after they were queued; a finished job leaves the
queue for the history at once. ``hold.json`` in the state directory holds the first job with a
given ``PipekitJobNum`` instead of starting it (a pool policy such as a memory limit);
``submit_fails.json`` makes the next condor_submit queue its jobs but fail (a lost answer).
"""

from __future__ import annotations

import fcntl
import json
import os
import shlex
import signal
import subprocess
import sys
import warnings
from pathlib import Path

TOOLS = ("condor_submit", "condor_q", "condor_history", "condor_rm")
_RUNNER = 'out=$1; err=$2; ex=$3; shift 3; "$@" >"$out" 2>"$err"; echo $? >"$ex.tmp"; mv "$ex.tmp" "$ex"'


def install(bin_dir: Path, state_dir: Path) -> None:
    """Write the stand-in executables into *bin_dir*; their queue lives in *state_dir*."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    state_dir.mkdir(parents=True, exist_ok=True)
    here = Path(__file__).resolve().parent
    for tool in TOOLS:
        path = bin_dir / tool
        path.write_text(f"#!{sys.executable}\nimport sys\nsys.path.insert(0, {str(here)!r})\n"
                        "import htcondor_standin_pool as pool\n"
                        f"sys.exit(pool.main({tool!r}, {str(state_dir)!r}, sys.argv[1:]))\n")
        path.chmod(0o755)


def calls(state_dir: Path, tool: str) -> list[list[str]]:
    """The argument lists of every call of *tool* so far."""
    log = state_dir / "calls.log"
    if not log.exists():
        return []
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    return [args for name, args in lines if name == tool]


def kill_all(state_dir: Path) -> None:
    """End every job process the stand-in started (test teardown)."""
    path = state_dir / "state.json"
    if not path.exists():
        return
    for job in json.loads(path.read_text())["queue"].values():
        if job.get("pid"):
            try:
                os.killpg(job["pid"], signal.SIGKILL)
            except OSError:
                pass


class Pool:
    """The queue in ``state.json`` (exclusively locked while a tool runs)."""

    def __init__(self, state_dir: str):
        self.dir = Path(state_dir)
        self._lock = open(self.dir / "lock", "a+")
        fcntl.flock(self._lock, fcntl.LOCK_EX)
        path = self.dir / "state.json"
        self.state = json.loads(path.read_text()) if path.exists() else {
            "next_cluster": 100, "queue": {}, "history": [], "factories": {}, "pending": {}}

    def save(self) -> None:
        tmp = self.dir / "state.json.tmp"
        tmp.write_text(json.dumps(self.state, indent=1))
        os.replace(tmp, self.dir / "state.json")
        fcntl.flock(self._lock, fcntl.LOCK_UN)

    # -- the pool's life between commands -------------------------------------------------------

    def tick(self) -> None:
        queue = self.state["queue"]
        for job_id, job in list(queue.items()):
            exit_file = Path(job.get("exit_file", "/nonexistent"))
            if job["JobStatus"] == 2 and exit_file.exists():
                code = int(exit_file.read_text().strip())
                del queue[job_id]
                ad = {**job, "JobStatus": 4}
                ad.update({"ExitBySignal": True, "ExitSignal": code - 128} if code > 128
                          else {"ExitBySignal": False, "ExitCode": code})
                self.state["history"].insert(0, ad)
        for cluster, f in self.state["factories"].items():
            while f["next"] < f["total"] and sum(
                    1 for j in queue.values() if j["ClusterId"] == int(cluster)) < f["limit"]:
                job = self.state["pending"].pop(f"{cluster}.{f['next']}")
                queue[f"{cluster}.{f['next']}"] = job
                f["next"] += 1
        for job in queue.values():
            if job["JobStatus"] == 1:
                self._start(job)

    def _start(self, job: dict) -> None:
        hold_path = self.dir / "hold.json"
        hold = json.loads(hold_path.read_text()) if hold_path.exists() else {}
        if hold.get("job_num") == job.get("PipekitJobNum"):
            hold_path.unlink()
            job.update(JobStatus=5, HoldReason=hold["reason"], HoldReasonCode=hold.get("code", 0))
            return
        env = {"PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", "/")}
        env.update(kv.split("=", 1) for kv in shlex.split(job.get("Environment", "")) if "=" in kv)
        exit_file = str(self.dir / f"exit_{job['ClusterId']}.{job['ProcId']}")
        cmd = [job["Cmd"], *shlex.split(job.get("Arguments", ""))]
        proc = subprocess.Popen(
            ["bash", "-c", _RUNNER, "runner", job["Out"], job["Err"], exit_file, *cmd],
            cwd=job["Iwd"], env=env, start_new_session=True, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # the tool's pipes must close
        job.update(JobStatus=2, pid=proc.pid, exit_file=exit_file)

    # -- the tools ------------------------------------------------------------------------------

    def submit(self, args: list[str]) -> int:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import htcondor
        text = Path(args[-1]).read_text()
        sub = htcondor.Submit(text)
        cluster = self.state["next_cluster"]
        self.state["next_cluster"] += 1
        ads = list(sub.jobs(count=0, itemdata=iter(list(sub.itemdata())), clusterid=cluster))
        keep = ("ClusterId", "ProcId", "Cmd", "Arguments", "Iwd", "Out", "Err", "Environment",
                "JobBatchName", "PipekitTag", "PipekitJobNum", "PipekitBranches")
        jobs = {f"{cluster}.{ad['ProcId']}": {**{k: ad.get(k) for k in keep}, "JobStatus": 1}
                for ad in ads}
        limit = int(sub.expand("max_materialize") or 0) if "max_materialize" in text else 0
        if limit:
            self.state["factories"][str(cluster)] = {"next": 0, "total": len(jobs), "limit": limit}
            self.state["pending"].update(jobs)
        else:
            self.state["queue"].update(jobs)
        fail = self.dir / "submit_fails.json"
        if fail.exists():  # the jobs are queued, but the answer is lost (a timeout, say)
            fail.unlink()
            print("ERROR: lost the connection to the schedd after queueing", file=sys.stderr)
            return 1
        print(f"Submitting job(s){'.' * len(jobs)}\n{len(jobs)} job(s) submitted to cluster {cluster}.")
        return 0

    def query(self, args: list[str], history: bool) -> int:
        import classad

        opts = _options(args)
        if "-factory" in args:
            rows = [{"ClusterId": int(c), "JobMaterializeNextProcId": f["next"],
                     "TotalSubmitProcs": f["total"]}
                    for c, f in self.state["factories"].items() if c in opts["positional"]]
        else:
            rows = self.state["history"] if history else list(self.state["queue"].values())
        if opts.get("-constraint"):
            expr = classad.ExprTree(opts["-constraint"])
            rows = [r for r in rows if expr.eval(classad.ClassAd(
                {k: v for k, v in r.items() if v is not None})) is True]
        rows = rows[:int(opts["-limit"])] if opts.get("-limit") else rows
        attrs = opts["-attributes"].split(",") if opts.get("-attributes") else None
        rows = [{k: v for k, v in r.items() if attrs is None or k in attrs} for r in rows]
        if rows:  # like HTCondor: no output at all when no job matched
            print(json.dumps(rows, indent=1))
        return 0

    def remove(self, args: list[str]) -> int:
        opts = _options(args)
        queue, missing = self.state["queue"], []
        for target in opts["positional"]:
            ids = [i for i in queue if i == target or i.split(".")[0] == target]
            if "." not in target and target in self.state["factories"]:
                f = self.state["factories"][target]
                f["total"] = f["next"]  # no more jobs from this cluster
            if not ids:
                missing.append(target)
            for job_id in ids:
                job = queue.pop(job_id)
                if job.get("pid"):
                    try:
                        os.killpg(job["pid"], signal.SIGTERM)
                    except OSError:
                        pass
                self.state["history"].insert(0, {**job, "JobStatus": 3,
                                                  "RemoveReason": opts.get("-reason", "")})
        if missing:
            print(f"Couldn't find/remove all jobs matching {', '.join(missing)}", file=sys.stderr)
            return 1
        return 0


def _options(args: list[str]) -> dict:
    out: dict = {"positional": []}
    i = 0
    while i < len(args):
        if args[i] in ("-attributes", "-constraint", "-limit", "-reason", "-pool", "-name"):
            out[args[i]] = args[i + 1]
            i += 2
        else:
            if not args[i].startswith("-"):
                out["positional"].append(args[i])
            i += 1
    return out


def main(tool: str, state_dir: str, args: list[str]) -> int:
    with open(Path(state_dir) / "calls.log", "a") as log:
        log.write(json.dumps([tool, args]) + "\n")
    pool = Pool(state_dir)
    try:
        pool.tick()
        if tool == "condor_submit":
            return pool.submit(args)
        if tool == "condor_rm":
            return pool.remove(args)
        return pool.query(args, history=tool == "condor_history")
    finally:
        pool.save()
