"""pipekit.processes: law.util's interruptable_popen, readable_popen, kill_process, quote_cmd."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

from pipekit import processes as p


def test_interruptable_popen_returns_code_and_decoded_output():
    code, out, err = p.interruptable_popen(
        [sys.executable, "-c", "import sys; print('out'); print('err', file=sys.stderr); sys.exit(3)"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert (code, out, err) == (3, "out\n", "err\n")


def test_interruptable_popen_feeds_stdin_from_the_callback():
    code, out, _ = p.interruptable_popen([sys.executable, "-c", "print(input()[::-1])"],
                                         stdout=subprocess.PIPE, stdin_callback=lambda: "abc")
    assert code == 0 and out == "cba\n"


def test_readable_popen_yields_lines_as_they_come_and_sets_the_code():
    proc, lines = p.readable_popen([sys.executable, "-u", "-c",
                                    "import time\nfor i in range(3):\n print(i); time.sleep(0.05)"])
    assert list(lines) == ["0", "1", "2"] and proc.returncode == 0


def test_kill_process_ends_the_process_and_its_children():
    proc = subprocess.Popen(["bash", "-c", "sleep 60 & sleep 60 & wait"])
    time.sleep(0.3)
    children = p.get_subprocess_pids(proc.pid)
    assert len(children) == 2
    p.kill_process(proc, kill_timeout=5)
    proc.wait(timeout=10)
    time.sleep(0.2)
    assert not any(p.send_signal_silent(pid, 0) and _alive(pid) for pid in children)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_send_signal_silent_to_a_missing_process_is_false():
    proc = subprocess.Popen(["true"])
    proc.wait()
    assert p.send_signal_silent(proc.pid, signal.SIGTERM) is False


def test_quote_cmd_quotes_arguments_and_nested_commands():
    assert p.quote_cmd(["echo", "a b", "c"]) == "echo 'a b' c"
    assert p.quote_cmd(["bash", "-c", ["echo", "x y"]]) == "bash -c 'echo '\"'\"'x y'\"'\"''"
