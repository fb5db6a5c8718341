"""The bot's chat replies as rows: who gets them, and when a reply counts as delivered.

A web page fetches its own replies, so a web reply is delivered once stored;
a pushed channel's (Telegram) waits for its bridge to send it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from backend.models.chat import ChatReply

# Channels whose replies a bridge pushes out (and records as delivered);
# the web page fetches its own, so a web reply is delivered once stored.
PUSHED_CHANNELS = ("telegram",)


def is_pushed(sender: str) -> bool:
    """Whether replies to this sender wait for a bridge to push them (``telegram:…``)."""
    return sender.split(":", 1)[0] in PUSHED_CHANNELS


def reply_values(*, sender: str, payload: dict[str, Any], now: datetime, message_id: int | None) -> dict[str, Any]:
    """A reply row's values: delivered once stored, unless a bridge pushes it (:func:`is_pushed`)."""
    return {
        "message_id": message_id,
        "sender": sender,
        "payload": payload,
        "created_at": now,
        "delivered_at": None if is_pushed(sender) else now,
        "delivery_attempts": 0,
    }


def new_reply(*, sender: str, payload: dict[str, Any], now: datetime, message_id: int | None = None) -> ChatReply:
    """A bot message for a sender: an answer to ``message_id``, or news (a ticket changed) when None."""
    return ChatReply(**reply_values(sender=sender, payload=payload, now=now, message_id=message_id))
