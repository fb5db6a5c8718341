"""One piece of news into one chat: a chat reply that answers no message, written in the caller's transaction.

The chat replies are the only outbox. The web page shows a reply now or on
the next visit; the Telegram bridge sends the replies of a ``telegram:``
chat in order and records when Telegram accepted each (:mod:`bot.outgoing`),
retrying 429s, 5xx and timeouts. With no bridge running (no bot token) a
Telegram reply waits there, unsent and not lost, until one runs.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from backend.services.chat_replies import new_reply


def tell(
    *, session: Session, channel: str, recipient: str, text: str, buttons: list[dict[str, str]], now: datetime
) -> None:
    """Add the news to the chat of ``recipient`` on ``channel`` (sender ``channel:recipient``)."""
    payload: dict[str, Any] = {"text": text, "buttons": buttons} if buttons else {"text": text}
    session.add(new_reply(sender=f"{channel}:{recipient}", payload=payload, now=now))
