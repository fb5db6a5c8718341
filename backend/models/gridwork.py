"""Grid members' chat identities: one-time binding codes, and the chats bound to a member.

An admin issues a code (``python -m backend members code gm-fl-01``); the
grid member sends "绑定 <code>" from their own chat; from then on that chat
(channel + sender id, as the channel reports it, never as typed) acts as
the member. A code works once and expires after a day.
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Integer, String, UniqueConstraint

from backend.models.base import Base, UTCDateTime, utcnow


class BindingCode(Base):
    """A one-time code that binds a chat to a grid member."""

    __tablename__ = "binding_codes"
    id = Column(Integer, primary_key=True)
    member_id = Column(ForeignKey("grid_members.id"), nullable=False, index=True)
    code = Column(String(12), nullable=False, unique=True)
    expires_at = Column(UTCDateTime(), nullable=False)
    used_at = Column(UTCDateTime(), nullable=True)
    created_at = Column(UTCDateTime(), nullable=False, default=utcnow)


class MemberLink(Base):
    """A chat that acts as a grid member."""

    __tablename__ = "member_links"
    __table_args__ = (UniqueConstraint("channel", "sender_id"),)
    id = Column(Integer, primary_key=True)
    member_id = Column(ForeignKey("grid_members.id"), nullable=False, index=True)
    channel = Column(String(16), nullable=False)
    sender_id = Column(String(128), nullable=False)
    bound_at = Column(UTCDateTime(), nullable=False, default=utcnow)
