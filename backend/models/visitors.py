"""Web visitor sessions: the server-side record behind the chat page's cookie.

The cookie carries only a random token (signed); the row holds its hash, the
stable visitor id Rasa sees (``web:<visitor>``), the resident once they send,
and when it was last seen or revoked. Deleting nothing keeps a revoked
token refused: a revoked or idle row makes its cookie a new visitor.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, ForeignKey, Integer, String

from backend.models.base import Base, UTCDateTime, utcnow


class VisitorSession(Base):
    """One web visitor's cookie: its token's hash (and the one before a rotation), and its lifetime."""

    __tablename__ = "visitor_sessions"
    id = Column(Integer, primary_key=True)
    visitor = Column(String(64), nullable=False, index=True)
    token_hash = Column(String(64), nullable=False, unique=True)
    previous_token_hash = Column(String(64), nullable=True, index=True)  # the token before the last rotation
    previous_expires_at = Column(UTCDateTime(), nullable=True)  # None: valid until the new token is seen
    resident_id = Column(ForeignKey("residents.id"), nullable=True, index=True)
    legacy = Column(Boolean, nullable=False, default=False)  # the old cookie format may still name this visitor
    created_at = Column(UTCDateTime(), nullable=False, default=utcnow)
    last_seen_at = Column(UTCDateTime(), nullable=False, default=utcnow)
    token_issued_at = Column(UTCDateTime(), nullable=False, default=utcnow)
    revoked_at = Column(UTCDateTime(), nullable=True)
