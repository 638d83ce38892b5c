"""
law's ``keras`` package: :class:`KerasModelFormatter` (``keras_model``),
:class:`KerasWeightsFormatter` (``keras_weights``) and the deprecated ``TFKerasModelFormatter``
(``tf_keras``; use ``law.tensorflow.TFKerasModelFormatter``). Needs keras and a backend
(``pip install 'pipekit[ml]'``); see :mod:`pipekit.target.ml_formats`.
"""

from __future__ import annotations

from pipekit.target.formatter import activate_contrib
from pipekit.target.ml_formats import DeprecatedTFKerasFormatter as TFKerasModelFormatter
from pipekit.target.ml_formats import KerasModelFormatter, KerasWeightsFormatter

__all__ = ["KerasModelFormatter", "KerasWeightsFormatter", "TFKerasModelFormatter"]

activate_contrib("keras")  # its formatters join formatter="auto" in load order, as in law
