"""What the chat page reads back: the answers it has not shown yet (polled) and the conversation after a reload.

Reads never create a visitor: a request without a known cookie gets an
empty answer.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend import messages
from backend.models.chat import PENDING, ChatReply
from backend.photos import shown_text
from backend.services import chat as chat_service
from backend.web.chat_replies import ChatUpdate, Reply, page_reply, replies_after, update_of
from backend.web.deps import Cookie, Sessions
from backend.web.errors import TOO_FAST
from backend.web.identity import lookup, rasa_sender
from backend.web.rate_limits import limit
from backend.web.visitor_cookie import VisitorCookie

logger = logging.getLogger(__name__)

router = APIRouter()

_PAYLOAD = re.compile(r"^/\w+(\{.*\})?$", re.DOTALL)  # an intent payload as buttons send it
EARLIER_REPLIES = 10  # answers read before the history's first message, for the title of a button pressed there


class HistoryItem(BaseModel):
    """A visitor's past message with the answers it got (or none yet); ``text`` is empty for a notification."""

    text: str
    pending: bool
    replies: list[Reply]


class ChatHistory(BaseModel):
    """The end of the visitor's conversation, to restore the page after a reload."""

    items: list[HistoryItem]
    pending: int
    notice: str | None = None


def _reader(jar: VisitorCookie, response: Response) -> str | None:
    """The reading visitor's stable id (their record kept up to date), or ``None``: nothing is created."""
    found = lookup(jar, response)
    return found.visitor if found is not None else None


@router.get("/api/chat/updates", response_model=ChatUpdate, tags=["chat"])
def updates(response: Response, jar: Cookie, sessions: Sessions, after: int = 0) -> ChatUpdate:
    """Replies newer than ``after`` for this visitor, and how many messages still wait."""
    visitor = _reader(jar, response)
    if visitor is None:
        return ChatUpdate(replies=[], pending=0)
    sender = rasa_sender(visitor)
    with sessions() as session:
        pending = len(chat_service.pending_messages(session=session, sender=sender))
        replies = replies_after(session, sender, after)
    return update_of(replies, pending)


@router.get(
    "/api/chat/history",
    response_model=ChatHistory,
    tags=["chat"],
    responses={429: TOO_FAST},
    dependencies=[Depends(limit("history"))],
)
def history(response: Response, jar: Cookie, sessions: Sessions) -> ChatHistory:
    """The visitor's recent conversation, so a reload shows where they were."""
    visitor = _reader(jar, response)
    if visitor is None:
        return ChatHistory(items=[], pending=0)
    sender = rasa_sender(visitor)
    with sessions() as session:
        rows = chat_service.recent_history(session=session, sender=sender)
        first = next((m for m, _ in rows if m is not None), None)
        titles = _earlier_titles(session, sender, first.created_at) if first is not None else {}
        items = []
        for m, replies in rows:
            shown = [page_reply(r) for r in replies]
            items.append(
                HistoryItem(
                    text=_as_pressed(m.text, titles) if m is not None else "",
                    pending=m is not None and m.status == PENDING,
                    replies=shown,
                )
            )
            titles.update({b.payload: b.title for reply in shown for b in reply.buttons})
    pending = sum(1 for i in items if i.pending)
    return ChatHistory(items=items, pending=pending, notice=messages.BUSY if pending else None)


def _as_pressed(text: str, titles: dict[str, str]) -> str:
    """A stored message as the resident saw it when sending: a pressed button by its title, a photo as [照片].

    The chat stores what was sent (a button's payload such as
    ``/points_catalogue``); the page showed the button's title, so a reload
    shows it again, from the buttons answered before the message.
    """
    if text in titles:
        return titles[text]
    shown = shown_text(text)
    if shown == text and _PAYLOAD.match(text):
        return messages.BUTTON_PRESSED  # a button of an answer older than the history: never the raw payload
    return shown


def _earlier_titles(session: Session, sender: str, before: Any) -> dict[str, str]:
    """Button payload → title from the sender's last answers before the history starts (the first press's buttons)."""
    rows = session.scalars(
        select(ChatReply)
        .where(ChatReply.sender == sender, ChatReply.created_at < before)
        .order_by(ChatReply.id.desc())
        .limit(EARLIER_REPLIES)
    ).all()
    titles: dict[str, str] = {}
    for row in reversed(rows):
        titles.update({b.payload: b.title for b in page_reply(row).buttons})
    return titles
