"""pipekit.terminal: colours only on a terminal, the choice prompt, abort."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pipekit import terminal as t


def test_colored_leaves_text_plain_when_not_on_a_terminal(capsys):
    assert t.colored("done", "green") == "done"  # pytest captures: not a terminal
    forced = t.colored("done", "green", style=("bright", "underlined"), force=True)
    assert forced == "\033[1;4;49;32mdone\033[0m" and t.uncolored(forced) == "done"


def test_colored_uses_colours_on_a_real_terminal():
    # a pseudo terminal as stdout, as a user's shell gives
    code = "import pipekit.terminal as t; print(repr(t.colored('x', 'red')))"
    out = subprocess.run(["script", "-qec", f"{sys.executable} -c \"{code}\"", "/dev/null"],
                         capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        pytest.skip("util-linux 'script' is not available")
    assert "\\x1b[0;49;31mx\\x1b[0m" in out.stdout


def test_query_choice_asks_again_until_the_answer_is_valid(monkeypatch, capsys):
    answers = iter(["maybe", "", "Y"])
    monkeypatch.setattr("builtins.input", lambda prompt: next(answers))
    assert t.query_choice("remove?", ["y", "n"], default="n") == "n"
    assert "invalid choice: 'maybe'" in capsys.readouterr().out
    assert t.query_choice("remove?", ["y", "n"]) == "y"


def test_abort_prints_to_stderr_and_exits_with_the_code(capsys):
    with pytest.raises(SystemExit) as e:
        t.abort("broken input", exitcode=3, color=False)
    assert e.value.code == 3 and capsys.readouterr().err == "broken input\n"


def test_escape_markdown_and_terminal_width(monkeypatch):
    assert t.escape_markdown("a_b *c*") == "a\\_b \\*c\\*"
    monkeypatch.setenv("COLUMNS", "77")
    assert t.get_terminal_width(fallback=True) == 77
