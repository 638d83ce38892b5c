"""
``law.contrib.load("pandas")`` facade: ``pipekit.pandas.DataFrameFormatter``, the formatter that
``target.load()`` / ``target.dump()`` choose by extension (see :mod:`pipekit.target.formatter`).
pandas itself is imported only when the formatter is used.
"""

from __future__ import annotations

from pipekit.target.formatter import DataFrameFormatter, activate_contrib

__all__ = ["DataFrameFormatter"]

activate_contrib("pandas")  # its formatter joins formatter="auto" in load order, as in law
