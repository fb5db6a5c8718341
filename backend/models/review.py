"""The review queue: resident messages the assistant was unsure of, waiting for a person to label them.

An item comes from one user event of Rasa's tracker store (``sender_id`` and
the event's ``id`` are its unique key, so scanning twice adds nothing). Its
text is kept masked (:func:`backend.privacy.mask_text`): the queue is read by
more people than the conversation log, and what a label writes into the
training data must not carry a phone or ID number anyway. The cursor
remembers the last tracker event the scan has read.
"""

from __future__ import annotations

from sqlalchemy import Column, Float, ForeignKey, Integer, String, Text, UniqueConstraint

from backend.models.base import Base, UTCDateTime, utcnow

REASONS = {"fallback": "没听懂（兜底）", "low_confidence": "把握不大", "flagged": "人工标记"}
STATUSES = {"open": "待标注", "accepted": "已采纳", "ignored": "已忽略"}


class ReviewItem(Base):
    """One resident message in the review queue."""

    __tablename__ = "review_items"
    __table_args__ = (UniqueConstraint("sender_id", "event_id"),)
    id = Column(Integer, primary_key=True)
    event_id = Column(Integer, nullable=False)
    sender_id = Column(String(255), nullable=False, index=True)
    said_at = Column(UTCDateTime(), nullable=False)
    text = Column(Text, nullable=False)  # masked
    predicted_intent = Column(String(64), nullable=True)
    confidence = Column(Float, nullable=True)
    reason = Column(String(16), nullable=False, index=True)
    status = Column(String(16), nullable=False, default="open", index=True)
    label = Column(String(64), nullable=True)
    flagged_by = Column(ForeignKey("console_accounts.id"), nullable=True)
    labelled_by = Column(ForeignKey("console_accounts.id"), nullable=True)
    labelled_at = Column(UTCDateTime(), nullable=True)
    created_at = Column(UTCDateTime(), nullable=False, default=utcnow)


class ReviewCursor(Base):
    """How far the scan has read a tracker store (the last event id it saw)."""

    __tablename__ = "review_cursors"
    name = Column(String(32), primary_key=True)
    last_event_id = Column(Integer, nullable=False, default=0)
