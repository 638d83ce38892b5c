"""
A STAND-IN FOR AN LSF CLUSTER, used by exactly one test file (tests/test_lsf_standin.py) to drive
LSFWorkflow through the real job loop. No LSF daemons can be installed on these machines (IBM
Spectrum LSF is proprietary; no package exists in the registries), so this module provides
``bsub``, ``bjobs``, ``bhist``, ``bkill`` and ``bparams`` executables that keep a queue in a JSON
file and run the jobs as local processes.

What is real in it: the job command pipekit gives bsub runs as LSF runs it — one shell command
line (``/bin/sh -c``) per array element, in the ``-cwd`` directory, with ``LSB_JOBID`` /
``LSB_JOBINDEX`` set, output appended to the ``-o`` path with ``%J`` / ``%I`` replaced — so the
batch script, the job node, its exit-status file and the job loop all run for real. Output
formats follow IBM's documentation: ``Job <N> is submitted to default queue <normal>.``,
``bjobs -json`` records (``JOBID``, ``JOBINDEX``, ``STAT``, ``EXIT_CODE``, ``EXIT_REASON``,
``JOB_NAME``), ``bjobs -noheader -o "... delimiter='|'"`` lines, ``Job <N> is not found`` on
stderr with exit code 255, ``bhist -l`` blocks ending in ``Done successfully.`` or ``Exited
with exit code N.`` plus ``TERM_*`` reasons. What is not: scheduling, hosts, limits, the real
commands' option parsing beyond what pipekit uses, and daemon timing; elements start at the
next command after they were queued (at most ``slots`` at once, and the array's ``%P``).

Fault injection through files in the state directory: ``memlimit.json`` ``{"index": I}`` kills
element I of the next array when it starts, the way LSF enforces a memory limit
(``TERM_MEMLIMIT``); ``no_json`` makes ``-json`` an illegal option (LSF before 10.1.0.2);
``clean_period`` (seconds) makes bjobs forget ended jobs after that time, so that bhist answers;
``bsub_kills_parent`` makes bsub queue its jobs and then kill the submitting process.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

TOOLS = ("bsub", "bjobs", "bhist", "bkill", "bparams")
SLOTS = 8
# runs the element's command line as LSF does, appending its output, then records the exit code
# (the command runs in a process group of its own, as LSF runs a job, whose id is kept: bkill
# signals that group and the runner still sees it end)
_RUNNER = ('out=$1; ex=$2; shift 2; setsid /bin/sh -c "$1" >>"$out" 2>&1 & echo $! >"$ex.pid"; '
           'wait $!; echo $? >"$ex.tmp"; mv "$ex.tmp" "$ex"')
_VALUE_OPTIONS = {"-J", "-o", "-oo", "-e", "-eo", "-cwd", "-q", "-W", "-M", "-R", "-n", "-P", "-gpu",
                  "-app", "-G", "-sla", "-m"}


def install(bin_dir: Path, state_dir: Path) -> None:
    """Write the stand-in executables into *bin_dir*; their queue lives in *state_dir*."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    state_dir.mkdir(parents=True, exist_ok=True)
    here = Path(__file__).resolve().parent
    for tool in TOOLS:
        path = bin_dir / tool
        path.write_text(f"#!{sys.executable}\nimport sys\nsys.path.insert(0, {str(here)!r})\n"
                        "import lsf_standin as cluster\n"
                        f"sys.exit(cluster.main({tool!r}, {str(state_dir)!r}, sys.argv[1:]))\n")
        path.chmod(0o755)


def calls(state_dir: Path, tool: str) -> list[list[str]]:
    """The argument lists of every call of *tool* so far."""
    log = state_dir / "calls.log"
    if not log.exists():
        return []
    return [args for name, args in (json.loads(line) for line in log.read_text().splitlines())
            if name == tool]


def kill_all(state_dir: Path) -> None:
    """End every element process the stand-in started (test teardown)."""
    path = state_dir / "state.json"
    if not path.exists():
        return
    for job in json.loads(path.read_text())["jobs"].values():
        for element in job["elements"].values():
            if element.get("pid"):
                _signal(element, signal.SIGKILL)
                try:
                    os.killpg(element["pid"], signal.SIGKILL)
                except OSError:
                    pass


def _signal(element: dict, sig: int) -> None:
    """Send *sig* to the element's process group (not to the runner that records its end)."""
    pid_file = Path(element["exit_file"] + ".pid")
    for _ in range(600):  # the runner writes it at once; a loaded machine may take seconds
        if pid_file.exists() and pid_file.read_text().strip():
            break
        time.sleep(0.05)
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return
    # the runner writes the pid right after the fork, possibly before the child's setsid made
    # it a group leader: until then killpg finds no group, so wait for it while the pid lives
    deadline = time.time() + 30
    while True:
        try:
            os.killpg(pid, sig)
            return
        except ProcessLookupError:
            try:
                os.kill(pid, 0)
            except OSError:
                return  # already gone
            if time.time() > deadline:
                os.kill(pid, sig)
                return
            time.sleep(0.005)
        except OSError:
            return


class Cluster:
    """The queue in ``state.json`` (exclusively locked while a tool runs)."""

    def __init__(self, state_dir: str):
        self.dir = Path(state_dir)
        self._lock = open(self.dir / "lock", "a+")
        fcntl.flock(self._lock, fcntl.LOCK_EX)
        path = self.dir / "state.json"
        self.state = json.loads(path.read_text()) if path.exists() else {"next_id": 100, "jobs": {}}

    def save(self) -> None:
        tmp = self.dir / "state.json.tmp"
        tmp.write_text(json.dumps(self.state, indent=1))
        os.replace(tmp, self.dir / "state.json")
        fcntl.flock(self._lock, fcntl.LOCK_UN)

    # -- the cluster's life between commands ----------------------------------------------------

    def tick(self) -> None:
        now = time.time()
        running = 0
        for job in self.state["jobs"].values():
            for element in job["elements"].values():
                if element["stat"] == "RUN":
                    exit_file = Path(element["exit_file"])
                    if exit_file.exists():
                        code = int(exit_file.read_text().strip())
                        ok = code == 0 and not element.get("reason")
                        element.update(stat="DONE" if ok else "EXIT", exit_code=code, ended=now,
                                       pid=None)
                    else:
                        running += 1
        for job_id, job in sorted(self.state["jobs"].items(), key=lambda kv: int(kv[0])):
            active = sum(1 for e in job["elements"].values() if e["stat"] == "RUN")
            for index, element in sorted(job["elements"].items(), key=lambda kv: int(kv[0])):
                if element["stat"] != "PEND" or running >= SLOTS:
                    continue
                if job["throttle"] and active >= job["throttle"]:
                    break
                self._start(job_id, job, int(index), element)
                running += 1
                active += 1

    def _start(self, job_id: str, job: dict, index: int, element: dict) -> None:
        out = job["output"].replace("%J", job_id).replace("%I", str(index))
        exit_file = str(self.dir / f"exit_{job_id}_{index}")
        env = dict(job["env"], LSB_JOBID=job_id, LSB_JOBINDEX=str(index),
                   LSB_JOBNAME=f"{job['name']}[{index}]")
        proc = subprocess.Popen(["bash", "-c", _RUNNER, "runner", out, exit_file, job["command"]],
                                cwd=job["cwd"], env=env, start_new_session=True,
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)  # the tool's pipes must close
        element.update(stat="RUN", pid=proc.pid, exit_file=exit_file, started=time.time())
        memlimit = self.dir / "memlimit.json"
        if memlimit.exists() and json.loads(memlimit.read_text()).get("index") == index:
            memlimit.unlink()
            _signal(element, signal.SIGKILL)  # once it runs, as a job grows past its limit
            element["reason"] = "TERM_MEMLIMIT: job killed after reaching LSF memory usage limit"

    def visible(self) -> dict[str, dict]:
        """Jobs bjobs still shows (ended ones are cleaned after ``clean_period``)."""
        clean = self.dir / "clean_period"
        period = float(clean.read_text()) if clean.exists() else None
        if period is None:
            return self.state["jobs"]
        now = time.time()
        out = {}
        for job_id, job in self.state["jobs"].items():
            elements = {i: e for i, e in job["elements"].items()
                        if e["stat"] not in ("DONE", "EXIT") or now - e.get("ended", now) < period}
            if elements:
                out[job_id] = {**job, "elements": elements}
        return out

    # -- the tools ------------------------------------------------------------------------------

    def bsub(self, args: list[str]) -> int:
        opts: dict[str, str] = {}
        i = 0
        while i < len(args) and args[i].startswith("-"):
            if args[i] not in _VALUE_OPTIONS:
                print(f"{args[i]}: Illegal option", file=sys.stderr)
                return 255
            opts[args[i]] = args[i + 1]
            i += 2
        command = " ".join(args[i:])
        m = re.fullmatch(r"([^\[\]]+)\[(\d+)-(\d+)\](?:%(\d+))?", opts.get("-J", ""))
        if not command or not m:
            print("bsub: this stand-in takes job arrays with a command only", file=sys.stderr)
            return 255
        job_id = str(self.state["next_id"])
        self.state["next_id"] += 1
        first, last = int(m.group(2)), int(m.group(3))
        self.state["jobs"][job_id] = {
            "name": m.group(1), "throttle": int(m.group(4) or 0), "command": command,
            "output": opts.get("-o", "/dev/null"), "cwd": opts.get("-cwd", os.getcwd()),
            "env": dict(os.environ),  # LSF's default: the submission environment (-env all)
            "elements": {str(x): {"stat": "PEND"} for x in range(first, last + 1)},
        }
        queue = opts.get("-q")
        print(f"Job <{job_id}> is submitted to {'queue <' + queue if queue else 'default queue <normal'}>.")
        if (self.dir / "bsub_kills_parent").exists():
            (self.dir / "bsub_kills_parent").unlink()
            self.save()
            os.kill(os.getppid(), signal.SIGKILL)
        return 0

    def _select(self, args: list[str], jobs: dict[str, dict]) -> tuple[list[tuple[str, str, dict]], list[str]]:
        """(job id, index, element) for the ids or ``-J name`` in *args*, and unknown ids."""
        name = args[args.index("-J") + 1] if "-J" in args else None
        ids = [a for a in args if re.fullmatch(r"\d+(\[\d+\])?", a)]
        found, unknown = [], []
        for job_id, job in jobs.items():
            for index, element in job["elements"].items():
                if name is not None and job["name"] == name:
                    found.append((job_id, index, element))
        for wanted in ids:
            job_id, _, index = wanted.rstrip("]").partition("[")
            job = jobs.get(job_id)
            hits = [(job_id, i, e) for i, e in (job or {}).get("elements", {}).items()
                    if not index or i == index]
            found += hits
            if not hits:
                unknown.append(wanted)
        return found, unknown

    def bjobs(self, args: list[str]) -> int:
        if "-json" in args and (self.dir / "no_json").exists():
            print("-json: Illegal option", file=sys.stderr)
            return 255
        jobs = self.visible()
        found, unknown = self._select(args, jobs)
        fmt = args[args.index("-o") + 1] if "-o" in args else "jobid stat"
        m = re.search(r"delimiter='(.)'", fmt)
        delimiter = m.group(1) if m else " "
        fields = re.sub(r"delimiter='.'", "", fmt).split()
        rows = []
        for job_id, index, e in found:
            values = {"jobid": job_id, "jobindex": index, "stat": e["stat"],
                      "exit_code": str(e["exit_code"]) if e["stat"] == "EXIT" and e.get("exit_code") is not None else "",
                      "exit_reason": e.get("reason", "") if e["stat"] == "EXIT" else "",
                      "job_name": f"{jobs[job_id]['name']}[{index}]"}
            rows.append({f.upper(): values.get(f, "") for f in fields})
        if "-json" in args:
            print(json.dumps({"COMMAND": "bjobs", "JOBS": len(rows), "RECORDS": rows}, indent=2))
        else:
            for row in rows:
                print(delimiter.join(v if v != "" else "-" for v in row.values()))
        for wanted in unknown:
            print(f"Job <{wanted}> is not found", file=sys.stderr)
        if not found and not unknown:
            print("No job found", file=sys.stderr)
        return 255 if unknown else 0

    def bhist(self, args: list[str]) -> int:
        found, unknown = self._select(args, self.state["jobs"])
        stamp = time.strftime("%a %b %d %H:%M:%S")
        for job_id, index, e in found:
            if e["stat"] not in ("DONE", "EXIT"):
                continue
            job = self.state["jobs"][job_id]
            print(f"Job <{job_id}[{index}]>, Job Name <{job['name']}[{index}]>, User <pk>, "
                  f"Project <default>, Command <{job['command']}>")
            print(f"{stamp}: Submitted from host <standin>, to Queue <normal>, CWD <{job['cwd']}>;")
            if e["stat"] == "DONE":
                print(f"{stamp}: Done successfully. The CPU time used is 0.1 seconds;")
            else:
                print(f"{stamp}: Exited with exit code {e.get('exit_code', 1)}. The CPU time used is")
                print("                     0.1 seconds;")  # bhist wraps long lines like this
                if e.get("reason"):
                    print(f"{stamp}: Completed <exit>; {e['reason']}.")
            print("-" * 78)
        if not found:
            print("No matching job found", file=sys.stderr)
        return 0

    def bkill(self, args: list[str]) -> int:
        found, unknown = self._select(args, self.state["jobs"])
        for job_id, index, e in found:
            if e["stat"] == "PEND":
                e.update(stat="EXIT", reason="TERM_OWNER: job killed by owner", exit_code=None,
                         ended=time.time())
            elif e["stat"] == "RUN":
                e["reason"] = "TERM_OWNER: job killed by owner"
                _signal(e, signal.SIGTERM)
            else:
                print(f"Job <{job_id}[{index}]>: Job has already finished", file=sys.stderr)
            if e["stat"] in ("RUN", "EXIT") and e.get("reason"):
                print(f"Job <{job_id}[{index}]> is being terminated")
        for wanted in unknown:
            print(f"Job <{wanted}>: No matching job found", file=sys.stderr)
        return 255 if unknown or any(e["stat"] == "DONE" for _, _, e in found) else 0

    def bparams(self, args: list[str]) -> int:
        size = self.dir / "max_array_size"
        print("System default queue for batch jobs:  normal\n"
              f"    MAX_JOB_ARRAY_SIZE = {size.read_text().strip() if size.exists() else 1000}")
        return 0


def main(tool: str, state_dir: str, args: list[str]) -> int:
    cluster = Cluster(state_dir)
    with open(cluster.dir / "calls.log", "a") as log:
        log.write(json.dumps([tool, args]) + "\n")
    try:
        cluster.tick()
        code = getattr(cluster, tool)(args)
        cluster.tick()
    finally:
        cluster.save()
    return code

