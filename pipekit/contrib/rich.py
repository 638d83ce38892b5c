"""
law's ``rich`` package: :func:`replace_console_handlers` swaps the terminal handlers of the
luigi, law and pipekit loggers for ``rich.logging.RichHandler`` (coloured levels, times, wrapped
tracebacks). Needs rich (``pip install rich``). Handlers writing to files or pipes are kept::

    law.contrib.load("rich")
    law.rich.replace_console_handlers()
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Sequence

__all__ = ["replace_console_handlers", "is_tty_handler"]

DEFAULT_LOGGERS = ("luigi", "luigi.*", "luigi-*", "law", "law.*", "pipekit", "pipekit.*")


def is_tty_handler(handler: logging.Handler) -> bool:
    """True for a stream handler writing to a terminal."""
    stream = getattr(handler, "stream", None)
    try:
        return isinstance(handler, logging.StreamHandler) and bool(stream and stream.isatty())
    except (AttributeError, ValueError):
        return False


def replace_console_handlers(loggers: Sequence[Any] = DEFAULT_LOGGERS, level: int | None = None,
                             force_add: bool = False,
                             check_fn: Callable[[logging.Logger, logging.Handler], bool] | None = None,
                             **kwargs: Any) -> list[tuple[logging.Logger, list[logging.Handler]]]:
    """
    For each existing logger matching *loggers* (logger objects or name patterns), remove the
    handlers *check_fn(logger, handler)* selects (default: terminal stream handlers) and add a
    ``RichHandler(level, **kwargs)``; *level* defaults to that of the first removed handler,
    else INFO. Loggers that had no such handler get one only with *force_add*. Returns
    ``[(logger, removed handlers), ...]``.
    """
    from pipekit.target.formatter import require_module
    from pipekit.values import multi_match

    rich_logging = require_module("rich.logging", "rich", "rich log handlers",
                                  "install it with: pip install rich")
    check = check_fn or (lambda lg, h: is_tty_handler(h))
    patterns = [p for p in loggers if isinstance(p, str)]
    objects = [p for p in loggers if isinstance(p, logging.Logger)]
    replaced = []
    for name, lg in list(logging.root.manager.loggerDict.items()):
        if not isinstance(lg, logging.Logger):
            continue
        if lg not in objects and not (patterns and multi_match(name, patterns)):
            continue
        removed = [h for h in list(lg.handlers) if check(lg, h)]
        for handler in removed:
            if level is None:
                level = handler.level or None
            lg.removeHandler(handler)
        if removed or force_add:
            lg.addHandler(rich_logging.RichHandler(level if level is not None else logging.INFO,
                                                   **kwargs))
        if removed:
            replaced.append((lg, removed))
    return replaced
