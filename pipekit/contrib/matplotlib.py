"""
``law.contrib.load("matplotlib")`` facade: ``pipekit.matplotlib.MatplotlibFormatter``, the formatter that
``target.load()`` / ``target.dump()`` choose by extension (see :mod:`pipekit.target.formatter`).
matplotlib itself is imported only when the formatter is used.
"""

from __future__ import annotations

from pipekit.target.formatter import MatplotlibFormatter, activate_contrib

__all__ = ["MatplotlibFormatter"]

activate_contrib("matplotlib")  # its formatter joins formatter="auto" in load order, as in law
