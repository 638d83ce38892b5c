"""
Tests for examples/notebooks/intro.ipynb: executed top to bottom in a real Jupyter kernel
(nbclient + ipykernel, the kernel running this Python) in a temporary copy of examples/, then
checked cell by cell: the files each cell writes, what it prints, the pictures it shows, and
that the one cell meant to fail ends with a one-line error.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

from pipekit.graph import STATUS_COLORS  # noqa: E402

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """The notebook after running it in a kernel, and the directory its copy ran in."""
    root = tmp_path_factory.mktemp("examples")
    for name in ("notebooks", "create_chars", "sandbox"):
        shutil.copytree(EXAMPLES / name, root / name, ignore=shutil.ignore_patterns("data", ".law"))
    workdir = root / "notebooks"
    nb = nbformat.read(workdir / "intro.ipynb", as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(workdir)}}
    )
    client.execute()
    return nb, root


def cell_of(nb, source_start: str, exact: bool = False):
    matches = [
        c
        for c in nb.cells
        if c.cell_type == "code"
        and (c.source == source_start if exact else c.source.startswith(source_start))
    ]
    assert len(matches) == 1, f"expected one cell starting with {source_start!r}"
    return matches[0]


def text_of(cell) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")


def png_colour_count(png_bytes: bytes, status: str) -> int:
    import io

    import matplotlib.image
    import numpy as np

    pixels = (matplotlib.image.imread(io.BytesIO(png_bytes), format="png")[..., :3] * 255).round()
    colour = STATUS_COLORS[status]
    rgb = [int(colour[i : i + 2], 16) for i in (1, 3, 5)]
    return int((np.abs(pixels - rgb).sum(axis=-1) <= 3).sum())


def shown_png(cell) -> bytes:
    import base64

    images = [o for o in cell.outputs if o.output_type == "display_data" and "image/png" in o.data]
    assert len(images) == 1, "the cell should show one picture"
    return base64.b64decode(images[0].data["image/png"])


def test_only_the_cell_tagged_to_fail_fails_and_it_shows_one_line(executed):
    nb, _ = executed
    errors = [
        (c, o)
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
        if o.output_type == "error"
    ]
    assert len(errors) == 1
    cell, error = errors[0]
    assert "raises-exception" in cell.metadata.get("tags", [])
    assert error.ename == "MagicError"
    assert error.traceback == [
        "pipekit: error: unknown option --m for TimesTwo ('--help' lists all)"
    ]


def test_timestwo_cells_write_then_remove_their_outputs(executed):
    nb, root = executed
    data = root / "notebooks" / "data"
    assert json.loads((data / "verbose" / "n5.json").read_text()) == {"in": 5, "out": 10}
    assert '{"in": 5, "out": 10}' in text_of(cell_of(nb, 'print(open("data/verbose/n5.json")'))
    loaded = cell_of(nb, "TimesTwo(n=5).output().load()")
    assert loaded.outputs[0].data["text/plain"] == "{'in': 5, 'out': 10}"
    assert "existent" in text_of(cell_of(nb, "%ilaw run TimesTwo --n 5 --print-status 0"))
    assert "n5.json): removed" in text_of(
        cell_of(nb, "%ilaw run TimesTwo --n 5 --remove-output 0,a")
    )
    assert not (data / "n5.json").exists()
    assert json.loads((data / "n7.json").read_text()) == {"in": 7, "out": 14}


def test_workflow_cells_run_one_branch_then_the_rest_and_merge(executed):
    nb, root = executed
    data = root / "notebooks" / "data"
    assert "done    CreateChars(branch=0)" in text_of(
        cell_of(nb, "%ilaw run CreateChars --branch 0")
    )
    status = text_of(cell_of(nb, "%ilaw run CreateChars --print-status 0"))
    assert "branches: 26 selected, 1 present, 25 missing (1-25)" in status
    merge = text_of(cell_of(nb, "%ilaw run CreateAlphabet", exact=True))
    assert "CreateChars: running 25 of 26 branches" in merge
    assert sorted(p.name for p in (data / "chars").iterdir()) == sorted(
        f"char_{b}.json" for b in range(26)
    )
    assert (data / "alphabet.txt").read_text() == "abcdefghijklmnopqrstuvwxyz\n"
    assert "abcdefghijklmnopqrstuvwxyz" in text_of(cell_of(nb, "print(CreateAlphabet().output()"))


def test_graph_cells_show_the_picture_before_and_after(executed):
    nb, root = executed
    data = root / "notebooks" / "data"
    before = shown_png(cell_of(nb, "%ilaw graph CreateAlphabet -o data/deps_before.png"))
    after = shown_png(cell_of(nb, "%ilaw run CreateAlphabet --print-deps 1 --graph"))
    assert before == (data / "deps_before.png").read_bytes()
    assert after == (data / "deps_after.png").read_bytes()
    # before: both boxes missing (only the legend is green); after: both boxes green
    assert png_colour_count(before, "missing") > 3 * png_colour_count(before, "complete")
    assert png_colour_count(after, "complete") > 3 * png_colour_count(after, "missing")


def test_sandbox_cell_runs_the_bash_sandbox_example(executed):
    nb, root = executed
    out = text_of(cell_of(nb, "%cd ../sandbox"))
    assert "entering sandbox" in out and "sandbox: bash::test_env1.sh" in out
    assert "MY_VARIABLE inside the sandbox: foo" in out
    assert (root / "sandbox" / "data" / "BashTask.txt").read_text().strip() == "foo"
    assert "MY_VARIABLE" not in os.environ  # the kernel got it from nowhere but the sandbox


def test_law_cells_run_the_module_version_in_a_subprocess(executed):
    nb, root = executed
    status = text_of(cell_of(nb, "%cd ../create_chars"))
    assert "0 > CreateAlphabet(upper=False)" in status and "26 missing" in status
    upper = root / "create_chars" / "data" / "alphabet_upper.txt"
    assert upper.read_text() == "ABCDEFGHIJKLMNOPQRSTUVWXYZ\n"
    assert not (root / "create_chars" / "data" / "alphabet.txt").exists()
    assert (
        text_of(cell_of(nb, "%law run CreateAlphabet --upper"))
        .rstrip()
        .endswith(str(root / "notebooks"))
    )
