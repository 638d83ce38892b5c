"""
law's ``awkward`` package: :class:`AwkwardFormatter` (awkward arrays as parquet, JSON or pickle
files, ``formatter="awkward"``) and :func:`from_parquet` (``ak.from_parquet`` without pyarrow's
reading threads unless asked for). Needs ``pip install 'pipekit[hep]'``; the implementation is
in :mod:`pipekit.target.hep_formats`.
"""

from __future__ import annotations

from pipekit.target.formatter import activate_contrib
from pipekit.target.hep_formats import AwkwardFormatter, DaskAwkwardFormatter, from_parquet

__all__ = ["from_parquet", "AwkwardFormatter", "DaskAwkwardFormatter"]

activate_contrib("awkward")  # its formatters join formatter="auto" in load order, as in law
