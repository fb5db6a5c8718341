"""What the chats were told of tickets: the chat replies that answer no message (the news outbox)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.models.chat import ChatReply


def news(session: Session, *, sender: str | None = None, number: str | None = None) -> list[ChatReply]:
    """The news replies, oldest first: to ``sender`` (``web:v1``), about ticket ``number``, or all."""
    query = select(ChatReply).where(ChatReply.message_id.is_(None)).order_by(ChatReply.id)
    if sender is not None:
        query = query.where(ChatReply.sender == sender)
    replies = session.scalars(query).all()
    return [r for r in replies if number is None or str(number) in str((r.payload or {}).get("text", ""))]


def text_of(reply: ChatReply) -> str:
    """The text of a news reply."""
    return str((reply.payload or {}).get("text", ""))
