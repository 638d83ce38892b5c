"""BranchMeter: what one branch costs, measured in the process that runs it."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from pipekit.workflow.meter import BranchMeter, process_usage


def _burn(seconds: float) -> None:
    t = time.process_time()
    while time.process_time() - t < seconds:
        pass


def _touch(mb: int) -> bytearray:
    block = bytearray(mb * 1024 * 1024)
    block[::4096] = b"x" * len(block[::4096])  # make the pages resident
    return block


def test_a_branch_gets_its_wall_and_cpu_time_and_where_it_ran():
    meter = BranchMeter()
    _burn(0.2)
    time.sleep(0.1)
    m = meter.stop()
    assert 0.18 <= m["cpu_s"] < 0.5
    assert m["end"] - m["start"] >= 0.3 - 1e-3
    assert m["pid"] == os.getpid() and m["host"] == os.uname().nodename


def test_each_branch_in_one_process_gets_its_own_peak_memory():
    # a big branch followed by a small one in the same process: the small one must not
    # inherit the big one's peak (the meter resets it on Linux)
    code = """
import json, sys
sys.path.insert(0, {root!r})
from pipekit.workflow.meter import BranchMeter
def touch(mb):
    b = bytearray(mb * 1024 * 1024); b[::4096] = b"x" * len(b[::4096]); return b
m = BranchMeter(); big = touch(200); del big; first = m.stop()
m = BranchMeter(); small = touch(10); second = m.stop()
print(json.dumps([first, second]))
"""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run([sys.executable, "-c", code.format(root=root)], capture_output=True,
                         text=True, check=True).stdout
    import json

    first, second = json.loads(out)
    assert first["maxrss_mb"] >= 200
    if second["peak"] == "branch":
        assert second["maxrss_mb"] < first["maxrss_mb"] - 150
    else:  # no reset allowed here: the value is the process's peak so far, and says so
        assert second["maxrss_mb"] >= first["maxrss_mb"]


def test_cpu_of_children_the_branch_waited_for_counts():
    meter = BranchMeter()
    subprocess.run([sys.executable, "-c", "import time\nt=time.process_time()\n"
                    "while time.process_time()-t<0.2: pass"], check=True)
    assert meter.stop()["cpu_s"] >= 0.18


def test_process_usage_is_at_least_what_the_process_did():
    keep = _touch(50)
    usage = process_usage()
    assert usage["maxrss_mb"] >= 50 and usage["cpu_s"] > 0
    del keep


def test_a_process_started_by_a_big_one_does_not_inherit_its_peak():
    # ru_maxrss of an exec'd process never drops below its parent's RSS at the fork; the
    # meter must not report that floor as every branch's peak
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    child = (f"import json, sys; sys.path.insert(0, {root!r})\n"
             "from pipekit.workflow.meter import BranchMeter\n"
             "m = BranchMeter(); print(json.dumps(m.stop()))")
    parent = ("import subprocess, sys\n"
              "big = bytearray(300 * 1024 * 1024); big[::4096] = b'x' * len(big[::4096])\n"
              f"sys.stdout.write(subprocess.run([sys.executable, '-c', {child!r}], "
              "capture_output=True, text=True).stdout)")
    import json

    m = json.loads(subprocess.run([sys.executable, "-c", parent], capture_output=True, text=True,
                                  check=True).stdout)
    if m["peak"] == "branch":
        assert m["maxrss_mb"] < 150, m
