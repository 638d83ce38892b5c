"""
law's ``tensorflow`` package: :class:`TFGraphFormatter` (``tf_graph``, ``.pb`` / ``.pbtxt``),
:class:`TFSavedModelFormatter` (``tf_saved_model``, directories), :class:`TFKerasModelFormatter`
(``tf_keras_model``) and :class:`TFKerasWeightsFormatter` (``tf_keras_weights``). Needs
``pip install 'pipekit[ml]'``; see :mod:`pipekit.target.ml_formats`.
"""

from __future__ import annotations

from pipekit.target.formatter import activate_contrib
from pipekit.target.ml_formats import (
    TFGraphFormatter,
    TFKerasModelFormatter,
    TFKerasWeightsFormatter,
    TFSavedModelFormatter,
)

__all__ = ["TFGraphFormatter", "TFSavedModelFormatter", "TFKerasModelFormatter",
           "TFKerasWeightsFormatter"]

activate_contrib("tensorflow")  # its formatters join formatter="auto" in load order, as in law
