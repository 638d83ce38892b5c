"""
PyTorch models (pipekit's, law has no such package): :class:`TorchModelFormatter`
(``formatter="torch_model"``, ``.pt`` / ``.pth``) through ``torch.save`` / ``torch.load``.
Loading this package lets it take part in ``formatter="auto"``. Needs torch (a CPU build is
enough; see docs/formatters.md).
"""

from __future__ import annotations

from pipekit.target.formatter import activate_contrib
from pipekit.target.ml_formats import TorchModelFormatter

__all__ = ["TorchModelFormatter"]

activate_contrib("torch")  # its formatter joins formatter="auto" in load order
