"""Photos residents send (web chat upload, Telegram), kept on disk and recorded here.

The resident gets an unguessable token for each photo; the conversation
carries only the token, and a photo is attached to a ticket only by the
resident who sent it.
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Integer, String

from backend.models.base import Base, UTCDateTime, utcnow


class Photo(Base):
    """One stored image."""

    __tablename__ = "photos"
    id = Column(Integer, primary_key=True)
    token = Column(String(40), nullable=False, unique=True)
    resident_id = Column(ForeignKey("residents.id"), nullable=False, index=True)
    ticket_id = Column(ForeignKey("tickets.id"), nullable=True, index=True)
    path = Column(String(300), nullable=False)
    content_type = Column(String(32), nullable=False)
    size = Column(Integer, nullable=False)
    sha256 = Column(String(64), nullable=False)
    created_at = Column(UTCDateTime(), nullable=False, default=utcnow)
