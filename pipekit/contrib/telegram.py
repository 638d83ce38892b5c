"""
``law.contrib.load("telegram")`` facade: ``pipekit.telegram.notify_telegram`` and
``NotifyTelegramParameter`` (see :mod:`pipekit.notify.telegram`).
"""

from __future__ import annotations

from pipekit.notify.telegram import NotifyTelegramParameter, notify_telegram

__all__ = ["notify_telegram", "NotifyTelegramParameter"]
