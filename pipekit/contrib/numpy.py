"""
``law.contrib.load("numpy")`` facade: ``pipekit.numpy.NumpyFormatter``, the formatter that
``target.load()`` / ``target.dump()`` choose by extension (see :mod:`pipekit.target.formatter`).
numpy itself is imported only when the formatter is used.
"""

from __future__ import annotations

from pipekit.target.formatter import NumpyFormatter, activate_contrib

__all__ = ["NumpyFormatter"]

activate_contrib("numpy")  # its formatter joins formatter="auto" in load order, as in law
