"""
The base of the ``--notify-<service>`` parameters of the chat services: a boolean parameter whose
transport is the class's own :meth:`ChatNotifyParameter.notify`.
"""

from __future__ import annotations

from typing import Any

from pipekit.parameter import NotifyParameter

__all__ = ["ChatNotifyParameter"]


class ChatNotifyParameter(NotifyParameter):
    """Subclasses set :attr:`service` (shown in the help) and implement :meth:`notify`."""

    #: the service's name as users know it, e.g. "Slack"
    service = "chat"

    def __init__(self, *args: Any, **kwargs: Any):
        kwargs.setdefault(
            "description",
            f"when true, send a {self.service} notification when the task finished (run() needs "
            "@law.decorator.notify)",
        )
        super().__init__(*args, **kwargs)

    def get_transport(self) -> dict:
        return {"func": self.notify, "raw": True, "colored": False}

    @classmethod
    def notify(cls, success: bool, title: str, content: dict, **kwargs: Any) -> bool:
        raise NotImplementedError
