"""law.rich: replace_console_handlers swaps terminal handlers for rich's."""

from __future__ import annotations

import logging
import os

import pytest

import pipekit as law

pytest.importorskip("rich")


def test_terminal_handlers_are_replaced_and_file_handlers_kept(tmp_path):
    law.contrib.load("rich")
    lg = logging.getLogger("law.test_rich")
    master, slave = os.openpty()
    tty = logging.StreamHandler(os.fdopen(slave, "w"))
    tty.setLevel(logging.WARNING)
    to_file = logging.FileHandler(tmp_path / "log.txt")
    lg.addHandler(tty)
    lg.addHandler(to_file)
    try:
        replaced = law.rich.replace_console_handlers(loggers=["law.test_rich"])
        assert replaced == [(lg, [tty])]
        kinds = sorted(type(h).__name__ for h in lg.handlers)
        assert kinds == ["FileHandler", "RichHandler"]
        rich_handler = next(h for h in lg.handlers if type(h).__name__ == "RichHandler")
        assert rich_handler.level == logging.WARNING  # taken from the removed handler
    finally:
        for h in list(lg.handlers):
            lg.removeHandler(h)
        os.close(master)


def test_force_add_gives_a_logger_without_terminal_handlers_one():
    law.contrib.load("rich")
    lg = logging.getLogger("pipekit.test_rich_force")
    assert law.rich.replace_console_handlers(loggers=[lg], force_add=True) == []
    assert [type(h).__name__ for h in lg.handlers] == ["RichHandler"]
    lg.handlers.clear()
