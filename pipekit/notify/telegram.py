"""
Telegram notifications through the Bot API's ``sendMessage`` as a plain HTTPS request
(``[notifications] telegram_token`` and ``telegram_chat``, as in law's configuration).
"""

from __future__ import annotations

import logging
from typing import Any

from pipekit.notify.http import json_ok, post_json, read_secret
from pipekit.notify.parameter import ChatNotifyParameter

__all__ = ["notify_telegram", "NotifyTelegramParameter", "DEFAULT_API_URL"]

logger = logging.getLogger("pipekit.notify")

#: base of the Bot API (``[notifications] telegram_api_url`` overrides it)
DEFAULT_API_URL = "https://api.telegram.org"


def notify_telegram(
    title: str,
    content: Any,
    token: str | None = None,
    chat: str | None = None,
    mention_user: str | None = None,
    **kwargs: Any,
) -> bool:
    """
    Send *title* and *content* (a string, or a dict shown as ``key: value`` lines) to a
    Telegram chat as plain text; returns whether Telegram accepted it. Unset arguments come
    from ``[notifications]``: ``telegram_token`` (a token or a file holding it),
    ``telegram_chat``, ``telegram_mention_user``. Further keyword arguments are added to the
    request (e.g. ``disable_notification=True``).
    """
    from pipekit.config import Config

    cfg = Config.instance()
    token = read_secret(token or cfg.get_expanded("notifications", "telegram_token", None))
    chat = chat or cfg.get_expanded("notifications", "telegram_chat", None)
    if not token or not chat:
        logger.warning(
            "cannot send a Telegram notification: set telegram_token and telegram_chat in "
            "[notifications] of law.cfg"
        )
        return False
    if mention_user is None:
        mention_user = cfg.get_expanded("notifications", "telegram_mention_user", None)
    mention = f" (@{mention_user.lstrip('@')})" if mention_user else ""
    if isinstance(content, str):
        body = content
    else:
        body = "\n".join(f"{k}: {v}" for k, v in content.items())
    payload = {"chat_id": chat, "text": f"{title}{mention}\n\n{body}", **kwargs}
    api_url = cfg.get_expanded("notifications", "telegram_api_url", DEFAULT_API_URL).rstrip("/")
    return json_ok(post_json(f"{api_url}/bot{token}/sendMessage", payload), "Telegram")


class NotifyTelegramParameter(ChatNotifyParameter):
    """``--notify-telegram``: send a Telegram message when the task finished (with ``@notify``)."""

    service = "Telegram"

    @classmethod
    def notify(cls, success: bool, title: str, content: dict, **kwargs: Any) -> bool:
        content = {"Status": "success" if success else "failure", **dict(content)}
        return notify_telegram(f"Notification from {content.pop('Task', title)}", content, **kwargs)
