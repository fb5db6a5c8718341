"""A chat reply as the page shows it: the stored answer's text, buttons and image, and the update the page is sent.

The sending routes (:mod:`backend.web.chat`, :mod:`backend.web.chat_photos`) and
the reading ones (:mod:`backend.web.chat_history`) answer with these.
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import BaseModel
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session

from backend import messages
from backend.models.chat import ChatReply
from backend.services import chat as chat_service

logger = logging.getLogger(__name__)

MAX_ID = 2**63 - 1


class Button(BaseModel):
    """A quick-reply button: the title shown and the payload sent back."""

    title: str
    payload: str


class Reply(BaseModel):
    """One bot message as the page shows it."""

    id: int
    text: str | None = None
    buttons: list[Button] = []
    image: str | None = None


class ChatUpdate(BaseModel):
    """The answers the page has not shown yet, and whether any message still waits."""

    replies: list[Reply]
    pending: int
    notice: str | None = None


def page_reply(row: ChatReply | Row[Any]) -> Reply:
    """A stored reply (a row or a loaded one: both have ``id`` and ``payload``) as the page shows it."""
    payload: dict[str, Any] = row.payload or {}
    buttons = [
        Button(title=str(b.get("title", "")), payload=str(b.get("payload", "")))
        for b in payload.get("buttons") or []
        if isinstance(b, dict)
    ]
    text = payload.get("text")
    image = payload.get("image")
    return Reply(
        id=row.id,
        text=str(text) if text is not None else None,
        buttons=buttons,
        image=str(image) if isinstance(image, str) else None,
    )


def replies_after(session: Session, sender: str, after: int) -> list[Reply]:
    """The sender's replies newer than ``after`` (the id of the last one the page shows), as the page shows them."""
    # Clamped to the database's integer range: a cursor of 2**63 or more was a 500.
    rows = chat_service.replies_since(session=session, sender=sender, after_id=min(max(0, after), MAX_ID))
    return [page_reply(r) for r in rows]


def update_of(replies: list[Reply], pending: int) -> ChatUpdate:
    """What the page is sent: the new replies, and the busy notice while a message still waits."""
    return ChatUpdate(replies=replies, pending=pending, notice=messages.BUSY if pending else None)
