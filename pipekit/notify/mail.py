"""
E-mail notifications through an SMTP server (``[notifications] mail_*`` in law.cfg).
"""

from __future__ import annotations

import logging
from typing import Any

__all__ = ["notify_mail", "notify_mail_transport", "send_mail"]

logger = logging.getLogger("pipekit.notify")


def notify_mail(
    title: str,
    message: str,
    recipient: str | None = None,
    sender: str | None = None,
    smtp_host: str | None = None,
    smtp_port: int | None = None,
    **kwargs: Any,
) -> bool:
    """
    Send a mail with subject *title* and body *message*; returns whether it was sent. Unset
    arguments come from ``[notifications] mail_recipient``, ``mail_sender``, ``mail_smtp_host``
    and ``mail_smtp_port``; without a host, the domain of the sender is used (as law does).
    """
    import smtplib
    from email.message import EmailMessage

    from pipekit.config import Config

    cfg = Config.instance()
    recipient = recipient or cfg.get_expanded("notifications", "mail_recipient", None)
    sender = sender or cfg.get_expanded("notifications", "mail_sender", None)
    if not recipient or not sender:
        logger.warning(
            "cannot send a mail notification: set mail_recipient and mail_sender in "
            "[notifications] of law.cfg"
        )
        return False
    smtp_host = smtp_host or cfg.get_expanded("notifications", "mail_smtp_host", None)
    smtp_port = smtp_port or cfg.get_expanded_int("notifications", "mail_smtp_port", 25)
    if not smtp_host:
        smtp_host = sender.split("@", 1)[1] if "@" in sender else "localhost"
    msg = EmailMessage()
    msg["Subject"] = title
    msg["From"] = sender
    msg["To"] = recipient
    msg.set_content(message)
    try:
        with smtplib.SMTP(smtp_host, int(smtp_port), timeout=10) as smtp:
            smtp.send_message(msg)
    except (OSError, smtplib.SMTPException) as e:
        logger.warning(f"mail notification via {smtp_host}:{smtp_port} failed: {e}")
        return False
    return True


def notify_mail_transport(success: bool, title: str, content: Any, **kwargs: Any) -> bool:
    """The transport of :class:`pipekit.NotifyMailParameter`: content as ``key: value`` lines."""
    from pipekit.notify import format_content

    message = format_content(success, content) if isinstance(content, dict) else str(content)
    return notify_mail(title, message, **kwargs)


def send_mail(recipient: str, sender: str, subject: str = "", content: str = "",
              smtp_host: str = "127.0.0.1", smtp_port: int = 25) -> bool:
    """law.util's ``send_mail``: a plain mail through *smtp_host*; True when it was accepted."""
    return notify_mail(subject, content, recipient=recipient, sender=sender,
                       smtp_host=smtp_host, smtp_port=smtp_port)
