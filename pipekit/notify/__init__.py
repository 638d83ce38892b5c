"""
Notifications when a task finishes: e-mail (:func:`notify_mail`) and chat messages through plain
HTTPS requests (:mod:`~pipekit.notify.slack`, :mod:`~pipekit.notify.telegram`,
:mod:`~pipekit.notify.mattermost`; also importable as ``pipekit.slack`` etc.).

A task switches them on with a notify parameter (``notify_mail = law.NotifyMailParameter()``)
and ``@law.decorator.notify`` on its ``run`` method; ``--notify-mail`` on the command line then
sends the message. Settings come from ``[notifications]`` in law.cfg. Messages are sent before
``run`` returns, with a timeout; a failed notification is logged as a warning and never fails
the task.
"""

from __future__ import annotations

from pipekit.notify.mail import notify_mail, notify_mail_transport

__all__ = ["notify_mail", "notify_mail_transport", "format_content"]


def format_content(success: bool, content: dict) -> str:
    """``Status: success`` followed by ``key: value`` lines, as plain text."""
    lines = [f"Status: {'success' if success else 'failure'}"]
    lines += [f"{k}: {v}" for k, v in content.items() if k != "Status"]
    return "\n".join(lines)
