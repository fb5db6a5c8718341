"""The notification outbox: one row per (ticket event, person to tell), written with the event.

Every status change of a ticket adds its rows in the same transaction as
the change, so a change that happened is a notification that will be sent,
whatever restarts in between. ``key`` is unique: the same event is never
queued twice for the same resident. The worker delivers due rows on the
resident's channel and records the outcome.
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, ForeignKey, Integer, String, Text

from backend.models.base import Base, UTCDateTime, utcnow

PENDING = "pending"
SENT = "sent"
FAILED = "failed"


class Notification(Base):
    """A message to one resident about one ticket event, and its delivery."""

    __tablename__ = "notifications"
    id = Column(Integer, primary_key=True)
    key = Column(String(128), nullable=False, unique=True)
    resident_id = Column(ForeignKey("residents.id"), nullable=False, index=True)
    ticket_id = Column(ForeignKey("tickets.id"), nullable=True, index=True)
    event_id = Column(ForeignKey("ticket_events.id"), nullable=True)
    channel = Column(String(16), nullable=False)
    recipient = Column(String(128), nullable=False)
    text = Column(Text, nullable=False)
    buttons = Column(JSON, nullable=False, default=list)  # [{"title", "payload"}], e.g. the rating buttons
    status = Column(String(16), nullable=False, default=PENDING, index=True)
    attempts = Column(Integer, nullable=False, default=0)
    next_attempt_at = Column(UTCDateTime(), nullable=False, default=utcnow, index=True)
    last_error = Column(String(200), nullable=True)
    created_at = Column(UTCDateTime(), nullable=False, default=utcnow)
    sent_at = Column(UTCDateTime(), nullable=True)
