"""
The smaller subcommands as users call them (real subprocesses): ``location``, ``quickstart``,
``completion`` (exercised in a real bash), ``software`` and ``luigid`` (a real scheduler).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import pytest
from cli_helpers import TASKS, run_cli, script, write

import pipekit


def test_version_and_usage(tmp_path):
    res = run_cli(["--version"], tmp_path)
    assert res.returncode == 0 and res.stdout.strip() == f"pipekit {pipekit.__version__}"
    res = run_cli([], tmp_path)
    assert res.returncode == 2 and "commands:" in res.stderr


def test_location_lists_package_config_index_and_software(tmp_path):
    work = tmp_path / "work"
    write(work / "law.cfg", "[core]\nsoftware_dir: /opt/sw\n")
    res = run_cli(["location"], work)
    assert res.returncode == 0
    lines = dict(line.split(None, 1) for line in res.stdout.strip().splitlines())
    assert lines["package"] == os.path.dirname(pipekit.__file__)
    assert lines["config"] == str(work / "law.cfg")
    assert lines["index"] == str(work / ".law" / "index")
    assert lines["software"] == "/opt/sw"
    res = run_cli(["location", "index"], work)
    assert res.stdout == f"{work / '.law' / 'index'}\n"


def test_quickstart_creates_a_runnable_analysis(tmp_path):
    res = run_cli(["quickstart", "ana"], tmp_path)
    assert res.returncode == 0, res.stderr
    assert "next steps:" in res.stdout
    ana = tmp_path / "ana"
    assert "analysis.tasks" in (ana / "law.cfg").read_text()
    res = run_cli(["run", "SumSquares", "--workers", "2"], ana)
    assert res.returncode == 0, res.stderr
    assert json.loads((ana / "data" / "SumSquares" / "count10.json").read_text()) == {
        "count": 10,
        "sum": 385,
    }
    assert len(list((ana / "data" / "Square" / "count10").iterdir())) == 10
    res = run_cli(["run", "SumSquares", "--print-status", "1"], ana)
    assert "branches: 10 selected, 10 present, 0 missing" in res.stdout


def test_quickstart_refuses_to_overwrite_anything(tmp_path):
    ana = tmp_path / "ana"
    write(ana / "analysis" / "tasks.py", "# my own work\n")
    res = run_cli(["quickstart", str(ana)], tmp_path)
    assert res.returncode == 2
    assert "not overwriting analysis/tasks.py" in res.stderr
    assert (ana / "analysis" / "tasks.py").read_text() == "# my own work\n"
    assert not (ana / "law.cfg").exists()


def _complete(work, words: list[str], env: dict[str, str] | None = None) -> list[str]:
    """Run the completion function in a real bash with COMP_WORDS set; returns COMPREPLY."""
    completion = run_cli(["completion"], work).stdout.strip()
    words_q = " ".join(f"'{w}'" for w in words)
    cmd = (
        f'source "{completion}"; COMP_WORDS=({words_q}); COMP_CWORD={len(words) - 1}; '
        '_pipekit_complete; printf "%s\\n" "${COMPREPLY[@]}"'
    )
    bin_dir = os.path.dirname(script())
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("LAW_", "PIPEKIT_"))}
    full_env.update(
        PATH=f"{bin_dir}:{os.environ['PATH']}", HOME=str(work.parent / "home"), **(env or {})
    )
    res = subprocess.run(
        ["bash", "-c", cmd], cwd=work, env=full_env, capture_output=True, text=True, timeout=30
    )
    assert res.returncode == 0, res.stderr
    return [w for w in res.stdout.splitlines() if w]


@pytest.fixture
def indexed(tmp_path):
    work = tmp_path / "work"
    write(work / "mytasks.py", TASKS)
    write(work / "law.cfg", "[modules]\nmytasks\n")
    assert run_cli(["index"], work).returncode == 0
    return work


def test_completion_prints_the_script_path(indexed):
    path = run_cli(["completion"], indexed).stdout.strip()
    assert os.path.isfile(path) and path.endswith("completion.sh")
    assert "complete -o default -F _pipekit_complete pipekit law" in open(path).read()


def test_bash_completes_subcommands_families_and_parameters(indexed):
    assert _complete(indexed, ["pipekit", "in"]) == ["index"]
    assert sorted(_complete(indexed, ["law", "run", "T"])) == ["TimesTwo"]
    assert sorted(_complete(indexed, ["pipekit", "run", ""])) == [
        "Broken",
        "Downstream",
        "TimesTwo",
        "Upstream",
    ]
    assert _complete(indexed, ["pipekit", "run", "TimesTwo", "--"])[0] == "--n"
    assert _complete(indexed, ["pipekit", "run", "mytasks.TimesTwo", "--n"]) == ["--n", "--no-lock"]
    assert _complete(indexed, ["pipekit", "run", "TimesTwo", "--print-s"]) == ["--print-status"]
    assert _complete(indexed, ["pipekit", "run", "TimesTwo", "--gra"]) == ["--graph"]
    assert _complete(indexed, ["pipekit", "graph", "Ti"]) == ["TimesTwo"]
    assert _complete(indexed, ["pipekit", "graph", "TimesTwo", "--dep"]) == ["--depth"]
    # parameters of other tasks as --Family-param
    assert _complete(indexed, ["pipekit", "run", "Downstream", "--Ups"]) == ["--Upstream-n"]


def test_bash_completes_report_and_status_with_their_options(indexed):
    assert _complete(indexed, ["pipekit", "rep"]) == ["report"]
    assert _complete(indexed, ["pipekit", "report", "Ti"]) == ["TimesTwo"]
    assert _complete(indexed, ["pipekit", "report", "TimesTwo", "--tr"]) == ["--trace"]
    assert _complete(indexed, ["pipekit", "status", "TimesTwo", "--pl"]) == ["--plain"]


def test_bash_completion_follows_law_config_file(indexed, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {"LAW_CONFIG_FILE": str(indexed / "law.cfg")}
    assert _complete(elsewhere, ["pipekit", "run", "Ti"], env=env) == ["TimesTwo"]
    assert _complete(elsewhere, ["pipekit", "run", "Ti"]) == []  # no config, no index


def test_software_copies_a_self_sufficient_pipekit_and_luigi(tmp_path):
    sw = tmp_path / "sw"
    env = {"LAW__core__software_dir": str(sw)}
    res = run_cli(["software"], tmp_path, env=env)
    assert res.returncode == 0, res.stderr
    assert "copied pipekit" in res.stdout and "copied luigi" in res.stdout
    assert {"pipekit", "luigi", "tenacity", "dateutil"} <= set(os.listdir(sw))
    # only the standard library and the software directory: luigi and pipekit still import
    code = (
        f"import sys; sys.path.insert(0, {str(sw)!r}); import luigi, pipekit.task.base; "
        "print(luigi.__file__, pipekit.__file__)"
    )
    out = subprocess.run(
        [sys.executable, "-I", "-S", "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [
        str(sw / "luigi" / "__init__.py"),
        str(sw / "pipekit" / "__init__.py"),
    ]
    res = run_cli(["software", "--remove"], tmp_path, env=env)
    assert res.returncode == 0 and not sw.exists()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_port(port: int, proc: subprocess.Popen, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"luigid exited with {proc.returncode}: {proc.stderr.read()}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError(f"luigid did not listen on port {port} within {timeout} s")


def test_luigid_runs_a_central_scheduler_that_tasks_report_to(tmp_path):
    work = tmp_path / "work"
    write(work / "mytasks.py", TASKS)
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LAW_", "PIPEKIT_"))}
    proc = subprocess.Popen(
        [
            script(),
            "luigid",
            "--port",
            str(port),
            "--address",
            "127.0.0.1",
            "--state-path",
            str(tmp_path / "state.pickle"),
            "--logdir",
            str(tmp_path / "logs"),
        ],
        cwd=work,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for_port(port, proc)
        res = run_cli(
            [
                "run",
                "mytasks.TimesTwo",
                "--n",
                "8",
                "--scheduler-host",
                "127.0.0.1",
                "--scheduler-port",
                str(port),
            ],
            work,
        )
        assert res.returncode == 0, res.stderr
        assert (work / "data" / "n8.json").exists()
        query = urllib.parse.quote(json.dumps({"status": "DONE"}))
        with urllib.request.urlopen(
            f"http://127.0.0.1:{port}/api/task_list?data={query}", timeout=10
        ) as resp:
            done = json.loads(resp.read())["response"]
        assert any(tid.startswith("TimesTwo_8_") for tid in done), done
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
