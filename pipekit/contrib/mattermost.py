"""
``law.contrib.load("mattermost")`` facade: ``pipekit.mattermost.notify_mattermost`` and
``NotifyMattermostParameter`` (see :mod:`pipekit.notify.mattermost`).
"""

from __future__ import annotations

from pipekit.notify.mattermost import NotifyMattermostParameter, notify_mattermost

__all__ = ["notify_mattermost", "NotifyMattermostParameter"]
