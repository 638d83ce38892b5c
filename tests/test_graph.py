"""
Tests for dependency-graph pictures (pipekit.graph, pipekit.graph_mpl, pipekit.cli.graph).

Everything runs through the real command line (``pipekit graph`` / ``pipekit run --graph``) in a
temporary analysis. Both drawing paths are tested: graphviz' ``dot`` (skipped locally when it is
missing, required in CI, which installs Debian's graphviz) and the matplotlib fallback, chosen
on purpose and chosen automatically when ``dot`` is not on PATH. Running and failed states come
from a real luigi central scheduler (``luigid``) started by the test.
"""

from __future__ import annotations

import json
import os
import re
import socket
import struct
import subprocess
import sys
import textwrap
import time
import xml.etree.ElementTree as ET

import pytest

from pipekit.graph import STATUS_COLORS
from pipekit.shell import which

BIN = os.path.dirname(sys.executable)
PIPEKIT = os.path.join(BIN, "pipekit")

ANALYSIS = '''
import os
import time

import luigi
import pipekit as law


class TimesTwo(law.Task):
    n = luigi.IntParameter()

    def output(self):
        return law.LocalFileTarget(f"data/n{self.n}.json")

    def run(self):
        self.output().dump({"in": self.n, "out": 2 * self.n})


class Chars(law.LocalWorkflow):
    def create_branch_map(self):
        return {i: chr(97 + i) for i in range(26)}

    def output(self):
        return law.LocalFileTarget(f"data/chars/{self.branch}.txt")

    def run(self):
        self.output().dump(self.branch_data, formatter="text")


class Pair(law.Task):
    a = luigi.IntParameter()

    def requires(self):
        return [TimesTwo(n=self.a), TimesTwo(n=self.a + 1)]

    def output(self):
        return law.LocalFileTarget(f"data/pair{self.a}.json")


class Top(law.WrapperTask):
    def requires(self):
        return {"many": [TimesTwo(n=i) for i in range(20)], "pair": Pair(a=1), "chars": Chars()}


class Slow(law.Task):
    """Runs until the file 'release' appears (at most 60 s)."""

    def output(self):
        return law.LocalFileTarget("data/slow.txt")

    def run(self):
        open("started", "w").close()
        for _ in range(600):
            if os.path.exists("release"):
                break
            time.sleep(0.1)
        self.output().dump("done", formatter="text")


class Broken(law.Task):
    def output(self):
        return law.LocalFileTarget("data/broken.txt")

    def run(self):
        raise RuntimeError("broken on purpose")


class BadRequires(law.Task):
    def requires(self):
        raise KeyError("no such dataset")

    def output(self):
        return law.LocalFileTarget("data/bad.txt")


class BadComplete(law.Task):
    def complete(self):
        raise OSError("storage unreachable")


class Bad(law.WrapperTask):
    def requires(self):
        return [BadRequires(), BadComplete()]


class Both(law.WrapperTask):
    def requires(self):
        return [Slow(), Broken(), TimesTwo(n=1)]
'''


@pytest.fixture
def analysis(tmp_path, monkeypatch):
    """A directory holding the analysis module, with TimesTwo n=0..6 and Chars 0..4 done."""
    work = tmp_path / "work"
    (work / "data" / "chars").mkdir(parents=True)
    (work / "mixed.py").write_text(textwrap.dedent(ANALYSIS))
    for n in range(7):
        (work / "data" / f"n{n}.json").write_text(json.dumps({"in": n, "out": 2 * n}))
    for b in range(5):
        (work / "data" / "chars" / f"{b}.txt").write_text("x")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(work)
    return work


def pipekit(
    *args: str, env: dict | None = None, timeout: float = 60
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [PIPEKIT, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def need_dot(require_service) -> None:
    require_service("graphviz dot", bool(which("dot")), "apt-get install graphviz (.ci/run does)")


def svg_nodes(path) -> dict[str, dict]:
    """``{first label line: {"fill": colour, "text": [lines]}}`` for the nodes of either backend."""
    nodes: dict[str, dict] = {}
    for g in ET.parse(path).getroot().iter("{http://www.w3.org/2000/svg}g"):
        m = re.fullmatch(r"node(\d+)(-box|-label-\d+)?", g.get("id", ""))
        if not m:
            continue
        entry = nodes.setdefault(m.group(1), {"fill": None, "text": []})
        for el in g.iter():
            if el.tag.endswith("text") and el.text:
                entry["text"].append(el.text)
            fill = (
                el.get("fill")
                or (re.search(r"fill: (#[0-9a-f]{6})", el.get("style", "")) or [None, None])[1]
            )
            if (
                entry["fill"] is None
                and fill
                and fill.startswith("#")
                and el.tag.endswith(("path", "polygon"))
            ):
                entry["fill"] = fill
    return {" / ".join(e["text"][:2]): e for e in nodes.values()}


def png_size(path) -> tuple[int, int]:
    with open(path, "rb") as f:
        head = f.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", head[16:24])


def png_colour_counts(path) -> dict[str, int]:
    """How many pixels of the picture have each status colour."""
    import matplotlib.image
    import numpy as np

    pixels = (matplotlib.image.imread(str(path))[..., :3] * 255).round().astype(int)
    counts = {}
    for status, colour in STATUS_COLORS.items():
        rgb = [int(colour[i : i + 2], 16) for i in (1, 3, 5)]
        counts[status] = int((np.abs(pixels - rgb).sum(axis=-1) <= 3).sum())
    return counts


@pytest.mark.parametrize("backend", ["dot", "matplotlib"])
def test_svg_names_every_family_and_colours_nodes_by_status(analysis, backend, require_service):
    if backend == "dot":
        need_dot(require_service)
    proc = pipekit("graph", "mixed.Top", "-o", "deps.svg", "--backend", backend)
    assert proc.returncode == 0, proc.stderr
    assert "dependency graph of Top() (" in proc.stdout and f", {backend}): " in proc.stdout
    nodes = svg_nodes(analysis / "deps.svg")
    families = {key.split(" / ")[0].split(" x")[0] for key in nodes}
    assert families == {"Top", "TimesTwo", "Pair", "Chars"}
    assert nodes["TimesTwo / n=1"]["fill"] == STATUS_COLORS["complete"]
    assert nodes["Pair / a=1"]["fill"] == STATUS_COLORS["missing"]
    assert nodes["Chars / 5/26 branches present"]["fill"] == STATUS_COLORS["missing"]
    # 20 TimesTwo below Top are one node with their counts, not 20 boxes
    assert nodes["TimesTwo x20 / 7 complete, 13 missing"]["fill"] == STATUS_COLORS["missing"]


@pytest.mark.parametrize("backend", ["dot", "matplotlib"])
def test_png_is_a_picture_showing_complete_and_missing_colours(analysis, backend, require_service):
    if backend == "dot":
        need_dot(require_service)
    proc = pipekit(
        "graph",
        "mixed.Pair",
        "--a",
        "1",
        "-o",
        "out/pair.png",
        env={"PIPEKIT_GRAPH_BACKEND": backend},
    )
    assert proc.returncode == 0, proc.stderr
    width, height = png_size(analysis / "out" / "pair.png")
    assert width > 200 and height > 150
    counts = png_colour_counts(analysis / "out" / "pair.png")
    # the legend shows every colour once; only the node boxes make complete and missing large
    assert counts["running"] > 0 and counts["failed"] > 0
    assert counts["complete"] > 3 * counts["failed"]  # two TimesTwo boxes
    assert counts["missing"] > 1.5 * counts["failed"]  # the Pair box


def test_print_deps_graph_draws_to_the_printed_depth(analysis):
    proc = pipekit("run", "mixed.Pair", "--a", "1", "--print-deps", "0", "--graph", "d0.dot")
    assert proc.returncode == 0, proc.stderr
    assert "0 > Pair(a=1)" in proc.stdout and "TimesTwo" not in proc.stdout
    assert "(1 node, dot source)" in proc.stdout
    proc = pipekit(
        "run",
        "mixed.Pair",
        "--a",
        "1",
        "--print-deps",
        "1",
        "--graph",
        "d1.svg",
        "--log-level",
        "WARNING",
        env={"PIPEKIT_GRAPH_BACKEND": "matplotlib"},
    )
    assert proc.returncode == 0, proc.stderr
    assert "1 > TimesTwo(n=2)" in proc.stdout
    assert set(svg_nodes(analysis / "d1.svg")) == {"Pair / a=1", "TimesTwo / n=1", "TimesTwo / n=2"}
    assert not (analysis / "data" / "pair1.json").exists(), "--graph must not run the task"


def test_without_dot_on_path_the_matplotlib_fallback_draws(analysis):
    env = {"PATH": BIN}  # the venv only: no graphviz
    proc = pipekit("graph", "mixed.Pair", "--a", "1", "-o", "fallback.png", env=env)
    assert proc.returncode == 0, proc.stderr
    assert ", matplotlib): " in proc.stdout
    assert png_size(analysis / "fallback.png")[0] > 200
    proc = pipekit("graph", "mixed.Pair", "--a", "1", "-o", "x.png", "--backend", "dot", env=env)
    assert proc.returncode == 2
    assert "'dot' is not on PATH" in proc.stderr and "Traceback" not in proc.stderr


def test_tasks_whose_requires_or_complete_raise_are_drawn_as_failed(analysis):
    proc = pipekit("graph", "mixed.Bad", "-o", "bad.svg", "--backend", "matplotlib")
    assert proc.returncode == 0, proc.stderr
    nodes = svg_nodes(analysis / "bad.svg")
    assert (
        nodes["BadRequires / requires() raised KeyError: 'no such dataset'"]["fill"]
        == (STATUS_COLORS["failed"])
    )
    assert nodes["BadComplete / complete() raised OSError"]["fill"] == STATUS_COLORS["failed"]


def test_bad_file_name_and_unreachable_scheduler_are_one_line_usage_errors(analysis):
    proc = pipekit("graph", "mixed.Pair", "--a", "1", "-o", "deps.jpg")
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        "pipekit: error: cannot tell the picture format of 'deps.jpg'; end the name in .png, .svg, .pdf, .dot"
    )
    proc = pipekit(
        "graph",
        "mixed.Pair",
        "--a",
        "1",
        "-o",
        "deps.svg",
        "--scheduler-host",
        "127.0.0.1",
        "--scheduler-port",
        str(_free_port()),
    )
    assert proc.returncode == 2
    assert "cannot ask the luigi scheduler at http://127.0.0.1:" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not (analysis / "deps.svg").exists()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def luigid(tmp_path):
    """A real luigi central scheduler on a free port; stopped (by PID) after the test."""
    port = _free_port()
    logdir = tmp_path / "luigid"
    logdir.mkdir()
    proc = subprocess.Popen(
        [
            os.path.join(BIN, "luigid"),
            "--port",
            str(port),
            "--address",
            "127.0.0.1",
            "--logdir",
            str(logdir),
            "--state-path",
            str(logdir / "state.pickle"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def listening() -> bool:
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", port)) == 0

    try:
        _wait_for(listening, 20, "luigid to listen")
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.slow
def test_running_and_failed_states_come_from_the_central_scheduler(analysis, luigid):
    sched = ["--scheduler-host", "127.0.0.1", "--scheduler-port", str(luigid)]
    broken = pipekit("run", "mixed.Broken", *sched)
    assert broken.returncode == 40
    slow = subprocess.Popen(
        [PIPEKIT, "run", "mixed.Slow", *sched], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        _wait_for(lambda: (analysis / "started").exists(), 30, "Slow to start")
        proc = pipekit("graph", "mixed.Both", "-o", "states.svg", "--backend", "matplotlib", *sched)
        assert proc.returncode == 0, proc.stderr
        assert "states from the scheduler" in proc.stdout
    finally:
        (analysis / "release").touch()
        slow.wait(timeout=60)
    nodes = svg_nodes(analysis / "states.svg")
    assert nodes["Slow / running"]["fill"] == STATUS_COLORS["running"]
    assert nodes["Broken / failed"]["fill"] == STATUS_COLORS["failed"]
    assert nodes["TimesTwo / n=1"]["fill"] == STATUS_COLORS["complete"]
    # without the scheduler the same graph shows completeness only
    proc = pipekit("graph", "mixed.Both", "-o", "local.svg", "--backend", "matplotlib")
    nodes = svg_nodes(analysis / "local.svg")
    assert nodes["Slow / complete"]["fill"] == STATUS_COLORS["complete"]
    assert nodes["Broken / missing"]["fill"] == STATUS_COLORS["missing"]
