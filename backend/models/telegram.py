"""Telegram updates as they arrived, stored before anything else happens.

``update_id`` is Telegram's own number and the primary key: an update that
Telegram delivers twice (a webhook retry, or long polling after a restart
before the offset was confirmed) is stored once and handled once. An update
is turned into a chat message (:mod:`backend.models.chat`) in the order of
its ``update_id`` per Telegram user; a photo is downloaded first, and while
the download fails the update waits, with back-off, and so do the user's
later messages.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, Integer, String, Text

from backend.models.base import Base, UTCDateTime, utcnow

RECEIVED = "received"  # stored, not yet a chat message
INGESTED = "ingested"  # became a chat message (which Rasa answers)
ANSWERED_HERE = "answered_here"  # answered by the bridge itself (empty, too long, a sticker, a photo lost)
IGNORED = "ignored"  # nothing to answer (an edit, a chat member change)


class TelegramUpdate(Base):
    """One update from Telegram, with what the bridge made of it."""

    __tablename__ = "telegram_updates"
    update_id = Column(BigInteger, primary_key=True, autoincrement=False)
    user_id = Column(BigInteger, nullable=True, index=True)
    chat_id = Column(BigInteger, nullable=True)
    kind = Column(String(16), nullable=False)  # text, button, photo, unsupported, other
    text = Column(Text, nullable=True)
    file_id = Column(String(256), nullable=True)
    status = Column(String(16), nullable=False, default=RECEIVED, index=True)
    attempts = Column(Integer, nullable=False, default=0)
    next_attempt_at = Column(UTCDateTime(), nullable=False, default=utcnow)
    last_error = Column(String(200), nullable=True)
    chat_message_id = Column(ForeignKey("chat_messages.id"), nullable=True)
    received_at = Column(UTCDateTime(), nullable=False, default=utcnow)
