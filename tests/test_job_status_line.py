"""The live status line of a polling workflow."""

from __future__ import annotations

import io

from pipekit.job.status_line import StatusLine, format_counts


def test_counts_are_shown_in_a_fixed_state_order_without_zeros():
    counts = {"finished": 3, "pending": 1, "failed": 0, "running": 2, "odd": 1}
    assert format_counts(counts) == "1 pending, 2 running, 3 finished, 1 odd"
    assert format_counts({}) == "no jobs"


def test_without_a_terminal_a_line_is_printed_only_when_counts_change():
    out = io.StringIO()
    line = StatusLine("Wf[slurm]", stream=out, tty=False)
    line.update({"pending": 2}, 0, 2)
    line.update({"pending": 2}, 0, 2)
    line.update({"running": 1, "finished": 1}, 1, 2)
    line.close()
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("Wf[slurm]: 2 pending | branches 0/2 0% | 0:0")
    assert "1 running, 1 finished | branches 1/2 50%" in lines[1]
    assert "[" not in lines[1].split("|")[1]  # no progress bar in logs


def test_on_a_terminal_the_line_is_rewritten_in_place_with_a_progress_bar():
    out = io.StringIO()
    with StatusLine("Wf", stream=out, tty=True, width=10) as line:
        line.update({"running": 4}, 1, 4)
        line.update({"finished": 4}, 4, 4)
    text = out.getvalue()
    assert text.count("\r\033[K") == 2 and text.endswith("\n")
    assert "[##--------] 25%" in text and "[##########] 100%" in text
