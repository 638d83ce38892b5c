"""
law's ``coffea`` package: :class:`CoffeaFormatter` (``formatter="coffea"``): NanoEvents from
``.root`` and ``.parquet`` files, accumulators and histograms through ``coffea.util.load`` /
``save``. Needs coffea (``pip install 'pipekit[hep]'`` does not pull it: it is large; ``pip
install coffea``); see :mod:`pipekit.target.hep_formats`.
"""

from __future__ import annotations

from pipekit.target.formatter import activate_contrib
from pipekit.target.hep_formats import CoffeaFormatter

__all__ = ["CoffeaFormatter"]

activate_contrib("coffea")  # its formatter joins formatter="auto" in load order, as in law
