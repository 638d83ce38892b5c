"""
Slack notifications as plain HTTPS requests: to an incoming webhook (``slack_webhook_url``), or
to the Web API's ``chat.postMessage`` with a bot token and channel (``slack_token``,
``slack_channel``, as law's configuration has them). Settings live in ``[notifications]``.
"""

from __future__ import annotations

import logging
from typing import Any

from pipekit.notify.http import json_ok, post_json, read_secret
from pipekit.notify.parameter import ChatNotifyParameter

__all__ = ["notify_slack", "NotifySlackParameter", "DEFAULT_API_URL"]

logger = logging.getLogger("pipekit.notify")

#: Slack's Web API method used with a token (``[notifications] slack_api_url`` overrides it)
DEFAULT_API_URL = "https://slack.com/api/chat.postMessage"


def _payload(title: str, content: Any, color: str, short_threshold: int, mention: str) -> dict:
    if isinstance(content, str):
        return {"text": f"{title}{mention}\n\n{content}"}
    fields = [
        {"title": str(k), "value": str(v), "short": len(str(v)) <= short_threshold}
        for k, v in content.items()
    ]
    fallback = f"{title}{mention}\n\n" + "".join(f"_{k}_: {v}\n" for k, v in content.items())
    return {
        "text": f"{title}{mention}",
        "attachments": [{"color": color, "fields": fields, "fallback": fallback}],
    }


def notify_slack(
    title: str,
    content: Any,
    attachment_color: str = "#4bb543",
    short_threshold: int = 40,
    token: str | None = None,
    channel: str | None = None,
    mention_user: str | None = None,
    webhook_url: str | None = None,
    **kwargs: Any,
) -> bool:
    """
    Send *title* and *content* (a string, or a dict shown as fields) to Slack; returns whether
    Slack accepted it. Unset arguments come from ``[notifications]``: ``slack_webhook_url``, or
    ``slack_token`` (a token or a file holding it) and ``slack_channel``; ``slack_mention_user``.
    Further keyword arguments are added to the request.
    """
    from pipekit.config import Config

    cfg = Config.instance()
    webhook_url = webhook_url or cfg.get_expanded("notifications", "slack_webhook_url", None)
    token = read_secret(token or cfg.get_expanded("notifications", "slack_token", None))
    channel = channel or cfg.get_expanded("notifications", "slack_channel", None)
    if mention_user is None:
        mention_user = cfg.get_expanded("notifications", "slack_mention_user", None)
    mention = f" (@{mention_user.lstrip('@')})" if mention_user else ""
    payload = _payload(title, content, attachment_color, short_threshold, mention)
    if channel:
        payload["channel"] = channel
    payload.update(kwargs)
    if webhook_url:
        answer = post_json(webhook_url, payload)
        return answer is not None
    if token and channel:
        api_url = cfg.get_expanded("notifications", "slack_api_url", DEFAULT_API_URL)
        answer = post_json(api_url, payload, headers={"Authorization": f"Bearer {token}"})
        return json_ok(answer, "Slack")
    logger.warning(
        "cannot send a Slack notification: set slack_webhook_url, or slack_token and "
        "slack_channel, in [notifications] of law.cfg"
    )
    return False


class NotifySlackParameter(ChatNotifyParameter):
    """``--notify-slack``: send a Slack message when the task finished (with ``@notify``)."""

    service = "Slack"

    @classmethod
    def notify(cls, success: bool, title: str, content: dict, **kwargs: Any) -> bool:
        content = dict(content)
        title = f"*Notification from* `{content.pop('Task', title)}`"
        if "Traceback" in content:
            content["Traceback"] = f"```{content['Traceback']}```"
        status = "success :tada:" if success else "failure :exclamation:"
        content = {"Status": status, **content}
        color = "#4bb543" if success else "#ff0033"
        return notify_slack(title, content, attachment_color=color, **kwargs)
