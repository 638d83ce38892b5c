"""
The one HTTP call the chat notifications make: a JSON POST with urllib (no extra dependency).
"""

from __future__ import annotations

import json
import logging
import os
from typing import Any

__all__ = ["post_json", "json_ok", "read_secret", "DEFAULT_TIMEOUT"]

logger = logging.getLogger("pipekit.notify")

#: seconds to wait for a chat service before giving up on a notification
DEFAULT_TIMEOUT = 10.0


def read_secret(value: str | None) -> str | None:
    """*value*, or the content of the file it names (tokens are often kept in files)."""
    if not value:
        return value
    path = os.path.expandvars(os.path.expanduser(str(value)))
    if os.path.isfile(path):
        with open(path) as f:
            return f.read().strip()
    return str(value)


def post_json(
    url: str, payload: dict, headers: dict[str, str] | None = None, timeout: float = DEFAULT_TIMEOUT
) -> tuple[int, str] | None:
    """
    POST *payload* as JSON to *url*; returns ``(status, body)``, or None (with a warning that
    names the service's answer) when the request failed.
    """
    import urllib.error
    import urllib.request

    data = json.dumps(payload).encode("utf-8")
    req = urllib.request.Request(
        url,
        data=data,
        method="POST",
        headers={
            "Content-Type": "application/json; charset=utf-8",
            **(headers or {}),
        },
    )
    shown = url.split("/bot", 1)[0] + "/bot..." if "/bot" in url else url  # never log tokens
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        body = e.read().decode("utf-8", "replace")[:300]
        logger.warning(f"notification to {shown} was refused: HTTP {e.code}: {body}")
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        logger.warning(f"notification to {shown} could not be sent: {reason}")
    return None


def json_ok(answer: tuple[int, str] | None, service: str) -> bool:
    """True when an API answered ``{"ok": true}``; otherwise a warning with its error."""
    if answer is None:
        return False
    try:
        result: Any = json.loads(answer[1])
    except ValueError:
        result = None
    if isinstance(result, dict) and result.get("ok"):
        return True
    logger.warning(f"{service} did not accept the notification: {answer[1][:300]}")
    return False
