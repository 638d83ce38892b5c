"""
``law.contrib.load("slack")`` facade: ``pipekit.slack.notify_slack`` and
``NotifySlackParameter`` (see :mod:`pipekit.notify.slack`).
"""

from __future__ import annotations

from pipekit.notify.slack import NotifySlackParameter, notify_slack

__all__ = ["notify_slack", "NotifySlackParameter"]
