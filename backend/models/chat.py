"""The web chat inbox: every message a visitor sends is stored before it is forwarded.

Rasa answers HTTP 200 with an empty list when the action server is down or an
action fails. A message stays ``pending`` until Rasa gives a real answer; the
worker retries it with back-off, and the page fetches the answers when they
come. Nothing a resident sent is lost.
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, ForeignKey, Integer, String, Text

from backend.models.base import Base, UTCDateTime, utcnow

PENDING = "pending"
ANSWERED = "answered"
DELIVERY_GAVE_UP = 10


class ChatMessage(Base):
    """One message from a web visitor, with its delivery state."""

    __tablename__ = "chat_messages"
    id = Column(Integer, primary_key=True)
    sender = Column(String(128), nullable=False, index=True)
    text = Column(Text, nullable=False)
    status = Column(String(16), nullable=False, default=PENDING, index=True)
    attempts = Column(Integer, nullable=False, default=0)
    last_error = Column(String(200), nullable=True)
    next_attempt_at = Column(UTCDateTime(), nullable=False, default=utcnow)
    created_at = Column(UTCDateTime(), nullable=False, default=utcnow)
    answered_at = Column(UTCDateTime(), nullable=True)


class ChatReply(Base):
    """One bot message (text and buttons as Rasa gave them) answering a chat message.

    The web page fetches replies itself, so a web reply is delivered when it
    is stored. For a messaging channel (Telegram) the bridge sends them and
    records it: ``delivered_at`` stays empty until the channel accepted it; ``delivery_attempts``, ``next_delivery_at`` and
    ``delivery_error`` while it did not (a 429 with ``retry_after``, a 500,
    a timeout); :data:`DELIVERY_GAVE_UP` attempts means the chat cannot be
    reached (the resident blocked the bot) and the reply is kept unsent.
    """

    __tablename__ = "chat_replies"
    id = Column(Integer, primary_key=True)
    # None for a notification (a ticket changed), which answers no message.
    message_id = Column(ForeignKey("chat_messages.id"), nullable=True, index=True)
    sender = Column(String(128), nullable=False, index=True)
    payload = Column(JSON, nullable=False)
    created_at = Column(UTCDateTime(), nullable=False, default=utcnow)
    delivered_at = Column(UTCDateTime(), nullable=True, index=True)
    delivery_attempts = Column(Integer, nullable=False, default=0)
    next_delivery_at = Column(UTCDateTime(), nullable=True)
    delivery_error = Column(String(200), nullable=True)
