"""Residents, identified by channel and sender id, never by what they type.

Name, phone and home address are optional and stored only with consent
(``consent_at``); they are shown masked (see :mod:`backend.privacy`).
A community set because the resident said yes in the chat to the community
their tickets point to records when they said it (``community_consent_at``,
see :mod:`backend.points.membership`).
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Integer, String, UniqueConstraint

from backend.models.base import Base, UTCDateTime, utcnow


class Resident(Base):
    """A resident as one channel knows them (``web:<uuid>``, ``telegram:<chat id>``)."""

    __tablename__ = "residents"
    __table_args__ = (UniqueConstraint("channel", "sender_id"),)
    id = Column(Integer, primary_key=True)
    channel = Column(String(16), nullable=False)
    sender_id = Column(String(128), nullable=False)
    code = Column(String(16), nullable=False, unique=True)
    name = Column(String(32), nullable=True)
    phone = Column(String(20), nullable=True)
    address = Column(String(200), nullable=True)
    community_id = Column(ForeignKey("communities.id"), nullable=True, index=True)
    consent_at = Column(UTCDateTime(), nullable=True)
    community_consent_at = Column(UTCDateTime(), nullable=True)
    created_at = Column(UTCDateTime(), nullable=False, default=utcnow)
