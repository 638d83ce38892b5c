"""
Tests that run every example in examples/, as a user would: real ``pipekit`` subprocesses in a
temporary copy of the example directory.

For the examples with a README, the ``$ pipekit ...`` lines of its console blocks are run in
order (so the README cannot rot), and the files and output a user would look at are checked
after the commands that make them. The notebook is executed by tests/test_notebook.py.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import struct
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"
PIPEKIT = os.path.join(os.path.dirname(sys.executable), "pipekit")

#: example directory -> the test that runs it
COVERED = {
    "timestwo": "test_timestwo_readme_runs_and_writes_what_it_says",
    "create_chars": "test_create_chars_readme_runs_branch_zero_then_all_then_the_merge",
    "sandbox": "test_sandbox_bash_task_sees_the_variable_its_setup_script_exports",
    "slurm": "test_slurm_readme_runs_the_branches_as_slurm_jobs_then_the_merge",
    "remote_targets": "test_remote_targets_readme_runs_the_workflow_on_xrootd_then_the_merge",
    "notebooks": "tests/test_notebook.py",
    "demo": "test_demo_runs_end_to_end_and_prints_where_its_pictures_and_run_report_are",
}


def example_dirs() -> list[str]:
    return sorted(
        p.name for p in EXAMPLES.iterdir() if p.is_dir() and not p.name.startswith(("_", "."))
    )


def readme_commands(name: str) -> list[str]:
    """The ``$ pipekit ...`` lines of the README's fenced blocks, without the ``$ ``."""
    commands, in_block = [], False
    for line in (EXAMPLES / name / "README.md").read_text().splitlines():
        if line.startswith("```"):
            in_block = not in_block
        elif in_block and line.startswith("$ pipekit "):
            commands.append(line[2:])
    return commands


@pytest.fixture
def clean_env(tmp_path, monkeypatch):
    """No user config (HOME is empty) and no variables the examples set themselves."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("MY_VARIABLE", raising=False)
    return home


def copy_example(name: str, dst: Path) -> Path:
    target = dst / name
    shutil.copytree(
        EXAMPLES / name, target, ignore=shutil.ignore_patterns("data", ".law", "__pycache__")
    )
    return target


def pipekit(command: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    args = shlex.split(command)
    assert args[0] == "pipekit"
    proc = subprocess.run(
        [PIPEKIT, *args[1:]], cwd=cwd, capture_output=True, text=True, timeout=timeout
    )
    assert proc.returncode == 0, (
        f"'{command}' exited with {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    )
    return proc


def is_png(path: Path) -> bool:
    with open(path, "rb") as f:
        head = f.read(24)
    return head[:8] == b"\x89PNG\r\n\x1a\n" and min(struct.unpack(">II", head[16:24])) > 50


def run_readme(name: str, workdir: Path, checks: dict) -> None:
    """Run the README's commands in order; after a command named in *checks*, call its check."""
    commands = readme_commands(name)
    assert set(checks) <= set(commands), f"README of {name} lost {set(checks) - set(commands)}"
    for command in commands:
        proc = pipekit(command, workdir)
        if command in checks:
            checks[command](workdir / "data", proc.stdout)


def test_every_example_has_a_readme_and_is_run_by_a_test():
    dirs = example_dirs()
    assert [d for d in dirs if not (EXAMPLES / d / "README.md").exists()] == []
    assert [d for d in dirs if d not in COVERED] == [], "add the new example to COVERED and test it"
    assert (EXAMPLES / "README.md").exists()
    index = (EXAMPLES / "README.md").read_text()
    assert [d for d in dirs if f"]({d}/)" not in index] == [], (
        "list every example in examples/README.md"
    )


def test_timestwo_readme_runs_and_writes_what_it_says(tmp_path, clean_env):
    work = copy_example("timestwo", tmp_path)

    def after_formatter(data: Path, out: str) -> None:
        assert json.loads((data / "n5.json").read_text()) == {"in": 5, "out": 10}
        assert json.loads((data / "verbose" / "n5.json").read_text()) == {"in": 5, "out": 10}

    def after_status(data: Path, out: str) -> None:
        assert "0 > TimesTwo(n=5)" in out and "data/n5.json)\n│       existent" in out

    def after_remove(data: Path, out: str) -> None:
        assert "n5.json): removed" in out and not (data / "n5.json").exists()
        assert (data / "verbose" / "n5.json").exists()

    def after_sum(data: Path, out: str) -> None:
        assert "done    Sum(numbers=1,2,3)" in out
        assert json.loads((data / "sum_1_2_3.json").read_text()) == {
            "numbers": [1, 2, 3],
            "sum": 12,
        }

    def after_graph(data: Path, out: str) -> None:
        assert is_png(data / "sum.png") and "(4 nodes," in out

    run_readme(
        "timestwo",
        work,
        {
            "pipekit run TimesTwo --n 5": after_formatter,
            "pipekit run TimesTwo --n 5 --print-status 0": after_status,
            "pipekit run TimesTwo --n 5 --remove-output 0,a": after_remove,
            "pipekit run Sum --numbers 1,2,3": after_sum,
            "pipekit graph Sum --numbers 1,2,3 -o data/sum.png": after_graph,
        },
    )


def test_create_chars_readme_runs_branch_zero_then_all_then_the_merge(tmp_path, clean_env):
    work = copy_example("create_chars", tmp_path)

    def chars(data: Path) -> list[str]:
        return sorted(p.name for p in (data / "chars").iterdir())

    def after_branch0(data: Path, out: str) -> None:
        assert chars(data) == ["char_0.json"]
        assert json.loads((data / "chars" / "char_0.json").read_text()) == {"num": 0, "char": "a"}

    def after_status(data: Path, out: str) -> None:
        assert "branches: 26 selected, 1 present, 25 missing (1-25)" in out

    def after_selection(data: Path, out: str) -> None:
        assert chars(data) == sorted(f"char_{b}.json" for b in range(10))

    def after_graph(data: Path, out: str) -> None:
        assert is_png(data / "deps.png") and "1 > CreateChars(branch=-1)" in out
        assert len(chars(data)) == 10, "drawing must not run anything"

    def after_merge(data: Path, out: str) -> None:
        assert "CreateChars: running 16 of 26 branches" in out
        assert len(chars(data)) == 26
        assert (data / "alphabet.txt").read_text() == "abcdefghijklmnopqrstuvwxyz\n"

    run_readme(
        "create_chars",
        work,
        {
            "pipekit run CreateChars --branch 0": after_branch0,
            "pipekit run CreateChars --print-status 0": after_status,
            "pipekit run CreateChars --branches 1-9 --workers 2": after_selection,
            "pipekit run CreateAlphabet --print-deps 1 --graph data/deps.png": after_graph,
            "pipekit run CreateAlphabet": after_merge,
        },
    )
    pipekit("pipekit run CreateAlphabet --upper", work)
    assert (work / "data" / "alphabet_upper.txt").read_text() == "ABCDEFGHIJKLMNOPQRSTUVWXYZ\n"


def test_sandbox_bash_task_sees_the_variable_its_setup_script_exports(tmp_path, clean_env):
    work = copy_example("sandbox", tmp_path)
    proc = pipekit("pipekit run tasks.BashTask", work)
    assert (work / "data" / "BashTask.txt").read_text().strip() == "foo"
    assert "MY_VARIABLE" not in os.environ  # the value came from test_env1.sh, not from us
    assert "done    BashTask()" in proc.stdout


@pytest.mark.docker
@pytest.mark.timeout(300)
def test_sandbox_docker_task_sees_the_variable_law_cfg_sets_in_the_container(
    tmp_path, clean_env, require_service
):
    image = "local/debian-py:bookworm"  # built by tests/infra/docker.sh start
    ok = shutil.which("docker") is not None and all(
        subprocess.run(["docker", *args], capture_output=True, timeout=60).returncode == 0
        for args in (["info"], ["image", "inspect", image])
    )
    require_service(
        "docker", ok, f"dockerd with the image {image}; run tests/infra/docker.sh start"
    )
    work = copy_example("sandbox", tmp_path)
    proc = pipekit("pipekit run tasks.DockerTask", work, timeout=240)
    assert (work / "data" / "DockerTask.txt").read_text().strip() == "foo"
    assert "done    DockerTask()" in proc.stdout


def start_slurm() -> str:
    """Start the single-node Slurm of tests/infra/slurm.sh (idempotent); why not, or ''."""
    script = REPO / "tests" / "infra" / "slurm.sh"
    if not os.access(script, os.X_OK):
        return f"{script} is missing"
    if os.geteuid() != 0:
        return "tests/infra/slurm.sh runs the Slurm daemons as root"
    proc = subprocess.run([str(script), "start"], capture_output=True, text=True, timeout=600)
    return (
        "" if proc.returncode == 0 else f"tests/infra/slurm.sh start failed: {proc.stderr[-300:]}"
    )


@pytest.mark.slurm
@pytest.mark.timeout(300)
def test_slurm_readme_runs_the_branches_as_slurm_jobs_then_the_merge(
    tmp_path, clean_env, monkeypatch, require_service
):
    reason = start_slurm()
    require_service("slurm", not reason, reason)
    monkeypatch.setenv("SLURM_CONF", "/tmp/infra/slurm/etc/slurm.conf")  # tests/infra/slurm.sh
    work = copy_example("slurm", tmp_path)

    def after_jobs(data: Path, out: str) -> None:
        assert "submitted 2 job(s) for branches 0-25 to Slurm" in out
        written = [json.loads(p.read_text()) for p in (data / "chars").glob("char_*.json")]
        assert sorted(w["char"] for w in written) == [chr(97 + i) for i in range(26)]
        assert len({w["slurm_job"] for w in written}) == 2, "13 branches per job: two jobs"

    def after_status(data: Path, out: str) -> None:
        assert "branches: 26 selected, 26 present, 0 missing" in out
        assert "slurm jobs: 2 finished" in out

    def after_merge(data: Path, out: str) -> None:
        assert (data / "alphabet.txt").read_text() == "abcdefghijklmnopqrstuvwxyz\n"

    run_readme(
        "slurm",
        work,
        {
            "pipekit run CreateChars --workflow slurm --tasks-per-job 13 --poll-interval 2s": after_jobs,
            "pipekit run CreateChars --workflow slurm --print-status 0": after_status,
            "pipekit run CreateAlphabet": after_merge,
        },
    )


def storage(backend: str) -> tuple[str, Path | None]:
    """
    Start the storage server of *backend* (tests/infra, as the storage tests do); returns why it
    cannot be used ('' when it can) and its data directory on this machine.
    """
    sys.path.insert(0, str(REPO / "tests" / "integration"))
    from storage_helpers import BACKENDS, backend_missing

    data = BACKENDS[backend][2]
    return backend_missing(backend) or "", data.parent if data else None


def point_example_at(work: Path, sub: str, wlcg_fs: str | None = None) -> None:
    """Put the example's outputs into a fresh directory *sub* (and use another [wlcg_fs])."""
    cfg = work / "law.cfg"
    text = cfg.read_text()
    if wlcg_fs is not None:
        text = text[: text.index("[wlcg_fs]")] + wlcg_fs + "\n"
    cfg.write_text(text.replace("pipekit-examples/remote_targets", f"pipekit-examples/{sub}"))


def readme_ini_blocks(name: str) -> list[str]:
    """The ``ini`` code blocks of an example's README."""
    blocks, block = [], None
    for line in (EXAMPLES / name / "README.md").read_text().splitlines():
        if line.startswith("```ini"):
            block = []
        elif line.startswith("```") and block is not None:
            blocks.append("\n".join(block))
            block = None
        elif block is not None:
            block.append(line)
    return blocks


@pytest.mark.storage
@pytest.mark.timeout(300)
def test_remote_targets_readme_runs_the_workflow_on_xrootd_then_the_merge(
    tmp_path, clean_env, require_service
):
    reason, xrd_data = storage("xrootd")
    require_service("xrootd", not reason, reason)
    work = copy_example("remote_targets", tmp_path)
    sub = f"ex{uuid.uuid4().hex[:8]}"
    point_example_at(work, sub)
    base = f"root://localhost:1094//pipekit-examples/{sub}"
    server = xrd_data / "pipekit-examples" / sub  # what the XRootD server holds

    def on_server() -> list[str]:
        return sorted(str(p.relative_to(server)) for p in server.rglob("*") if p.is_file())

    def after_branch0(data: Path, out: str) -> None:
        assert on_server() == ["counts/counts_0.json"]
        first = json.loads((server / "counts" / "counts_0.json").read_text())
        assert first["file"] == "events_0.root" and sum(first["hist"]) == 1000

    def after_status(data: Path, out: str) -> None:
        requests = [ln for ln in out.splitlines() if ln.startswith(("listdir ", "stat "))]
        assert requests == [f"listdir {base}/counts"]  # all branches: one listing
        assert "absent (1/8)" in out and "branches: 8 selected, 1 present, 7 missing (1-7)" in out

    def after_merge(data: Path, out: str) -> None:
        assert "CountEvents: running 7 of 8 branches with 2 workers" in out
        branches = [f"counts/counts_{b}.json" for b in range(8)]
        assert on_server() == sorted(["merged.json", *branches])  # no temporary names left
        merged = json.loads((server / "merged.json").read_text())
        assert merged["files"] == 8 and sum(merged["hist"]) == 8000

    def after_print_status(data: Path, out: str) -> None:
        assert "WLCGFileTarget(fs=wlcg_fs, path=/merged.json)\n│       existent" in out
        assert "existent (8/8)" in out and "8 selected, 8 present, 0 missing" in out

    def after_fetch(data: Path, out: str) -> None:
        assert f"{base}/merged.json: copied to" in out
        assert (data / "merged.json").read_text() == (server / "merged.json").read_text()

    def after_remove(data: Path, out: str) -> None:
        assert on_server() == [] and (data / "merged.json").exists()

    try:
        run_readme(
            "remote_targets",
            work,
            {
                "pipekit run CountEvents --branch 0": after_branch0,
                "pipekit run CountEvents --print-status 0 --log-level DEBUG": after_status,
                "pipekit run MergeCounts --workers 2": after_merge,
                "pipekit run MergeCounts --print-status 1": after_print_status,
                "pipekit run MergeCounts --fetch-output 0,a,data": after_fetch,
                "pipekit run MergeCounts --remove-output 1,a": after_remove,
            },
        )
    finally:
        shutil.rmtree(server, ignore_errors=True)


@pytest.mark.storage
@pytest.mark.timeout(300)
@pytest.mark.parametrize("backend, scheme", [("wsgidav", "dav://"), ("s3", "s3://")])
def test_remote_targets_readme_variants_run_on_webdav_and_s3(
    backend, scheme, tmp_path, clean_env, require_service
):
    reason, data_dir = storage(backend)
    require_service(backend, not reason, reason)
    (wlcg_fs,) = [b for b in readme_ini_blocks("remote_targets") if f"base: {scheme}" in b]
    work = copy_example("remote_targets", tmp_path)
    sub = f"ex{uuid.uuid4().hex[:8]}"
    point_example_at(work, sub, wlcg_fs)
    try:
        proc = pipekit("pipekit run MergeCounts --workers 2", work)
        assert "CountEvents: running 8 of 8 branches with 2 workers" in proc.stdout
        pipekit("pipekit run MergeCounts --fetch-output 0,a,data", work)
        merged = json.loads((work / "data" / "merged.json").read_text())
        assert merged["files"] == 8 and sum(merged["hist"]) == 8000
    finally:
        pipekit("pipekit run MergeCounts --remove-output 1,a", work)
        if data_dir is not None:
            shutil.rmtree(data_dir / "pipekit-examples" / sub, ignore_errors=True)


def test_demo_runs_end_to_end_and_prints_where_its_pictures_and_run_report_are(tmp_path, clean_env):
    repo = tmp_path / "repo"
    (repo / "examples").mkdir(parents=True)
    shutil.copy(EXAMPLES / "__init__.py", repo / "examples")
    shutil.copy(REPO / "law.cfg", repo)
    copy_example("demo", repo / "examples")
    proc = subprocess.run(
        [sys.executable, "examples/demo/run_demo.py"],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = dict(
        line.split(":", 1)
        for line in proc.stdout.splitlines()
        if line.startswith(("plot:", "dependency graph:", "run report:"))
    )
    plot, graph = Path(lines["plot"].strip()), Path(lines["dependency graph"].strip())
    assert plot == repo / "examples" / "demo" / "data" / "v1" / "mass.png"
    assert graph == repo / "examples" / "demo" / "data" / "v1" / "deps.png"
    assert is_png(plot) and is_png(graph)
    report = Path(lines["run report"].strip())
    assert report == repo / "examples" / "demo" / "data" / "v1" / "report.html"
    # two workflows of 8 branches each, every branch run once
    assert report.read_text().count('class="attempt"') == 16
    assert len((report.parent / "trace.tsv").read_text().splitlines()) == 1 + 16
    assert "datasets: 8" in proc.stdout
