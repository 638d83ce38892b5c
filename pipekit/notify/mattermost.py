"""
Mattermost notifications through an incoming webhook as a plain HTTPS request
(``[notifications] mattermost_hook_url`` and the other ``mattermost_*`` options of law).
"""

from __future__ import annotations

import logging
from typing import Any

from pipekit.notify.http import post_json
from pipekit.notify.parameter import ChatNotifyParameter

__all__ = ["notify_mattermost", "NotifyMattermostParameter"]

logger = logging.getLogger("pipekit.notify")

# request field -> [notifications] option
_OPTIONAL_FIELDS = {
    "channel": "mattermost_channel",
    "username": "mattermost_user",
    "icon_url": "mattermost_icon_url",
    "icon_emoji": "mattermost_icon_emoji",
}


def notify_mattermost(
    title: str,
    content: Any,
    hook_url: str | None = None,
    channel: str | None = None,
    user: str | None = None,
    mention_user: str | None = None,
    icon_url: str | None = None,
    icon_emoji: str | None = None,
    **kwargs: Any,
) -> bool:
    """
    Post *title* and *content* (a string, or a dict shown as ``key: value`` lines) to a
    Mattermost incoming webhook; returns whether it was accepted. Unset arguments come from
    ``[notifications]`` (``mattermost_hook_url``, ``mattermost_channel``, ``mattermost_user``,
    ``mattermost_mention_user``, ``mattermost_icon_url``, ``mattermost_icon_emoji``).
    """
    from pipekit.config import Config

    cfg = Config.instance()
    hook_url = hook_url or cfg.get_expanded("notifications", "mattermost_hook_url", None)
    if not hook_url:
        logger.warning(
            "cannot send a Mattermost notification: set mattermost_hook_url in [notifications] "
            "of law.cfg"
        )
        return False
    given = {"channel": channel, "username": user, "icon_url": icon_url, "icon_emoji": icon_emoji}
    payload: dict[str, Any] = {}
    for field, option in _OPTIONAL_FIELDS.items():
        value = given[field] or cfg.get_expanded("notifications", option, None)
        if value:
            payload[field] = value
    mention_user = mention_user or cfg.get_expanded(
        "notifications", "mattermost_mention_user", None
    )
    mention = f" (@{mention_user.lstrip('@')})" if mention_user else ""
    if isinstance(content, str):
        body = content
    else:
        body = "".join(f"{k}: {v}\n" for k, v in content.items())
    payload["text"] = f"{title}{mention}\n\n{body}"
    payload.update(kwargs)
    return post_json(hook_url, payload) is not None


class NotifyMattermostParameter(ChatNotifyParameter):
    """``--notify-mattermost``: post to Mattermost when the task finished (with ``@notify``)."""

    service = "Mattermost"

    @classmethod
    def notify(cls, success: bool, title: str, content: dict, **kwargs: Any) -> bool:
        from pipekit.config import Config

        cfg = Config.instance()
        content = dict(content)
        header = cfg.get_expanded("notifications", "mattermost_header", None)
        task_block = f"```\n{content.pop('Task', title)}\n```"
        title = f"{header}\n{task_block}" if header else task_block
        if "Traceback" in content:
            content["Traceback"] = f"\n```\n{content['Traceback']}\n```"
        status = "success" if success else "failure"
        emoji = cfg.get_expanded("notifications", f"mattermost_{status}_emoji", None)
        content = {"Status": f"{status} {emoji}" if emoji else status, **content}
        content = {f"**{k}**": v for k, v in content.items()}
        return notify_mattermost(title, content, **kwargs)
