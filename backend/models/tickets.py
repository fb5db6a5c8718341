"""Tickets (工单), their timeline of events, their followers, and the daily number sequence.

Every change to a ticket is a :class:`TicketEvent` (time, actor, from → to,
note): the timeline is the audit trail, so a resident, a grid member and an
inspector all read the same history.
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import relationship

from backend.models.base import Base, UTCDateTime, utcnow


class TicketSequence(Base):
    """The last ticket number issued on a day (district time), for GZyyyymmdd-NNNN."""

    __tablename__ = "ticket_sequences"
    day = Column(Date, primary_key=True)
    last = Column(Integer, nullable=False, default=0)


class Ticket(Base):
    """One resident request being handled."""

    __tablename__ = "tickets"
    id = Column(Integer, primary_key=True)
    number = Column(String(20), nullable=False, unique=True)
    resident_id = Column(ForeignKey("residents.id"), nullable=False, index=True)
    category = Column(String(32), nullable=False, index=True)
    matter = Column(String(16), nullable=False)
    tier = Column(String(16), nullable=False)
    status = Column(String(16), nullable=False, index=True)
    urgency = Column(String(16), nullable=False, default="normal")
    description = Column(Text, nullable=False)
    place_text = Column(String(500), nullable=True)
    community_id = Column(ForeignKey("communities.id"), nullable=True, index=True)
    grid_id = Column(ForeignKey("grids.id"), nullable=True, index=True)
    building_id = Column(ForeignKey("buildings.id"), nullable=True, index=True)
    place_id = Column(ForeignKey("places.id"), nullable=True, index=True)
    needs_dispatch = Column(Integer, nullable=False, default=0)
    assignee_id = Column(ForeignKey("grid_members.id"), nullable=True, index=True)
    department_code = Column(String(32), nullable=True)
    escalation_level = Column(String(16), nullable=False, default="grid")
    contact_phone = Column(String(20), nullable=True)
    photos = Column(JSON, nullable=False, default=list)
    deadline = Column(UTCDateTime(), nullable=False)
    # 评单: satisfied 满意 / basically 基本满意 / unsatisfied 不满意 / default 默认满意 (no answer in time).
    satisfaction = Column(String(16), nullable=True, index=True)
    satisfaction_comment = Column(Text, nullable=True)
    rated_at = Column(UTCDateTime(), nullable=True)
    resolved_at = Column(UTCDateTime(), nullable=True)
    # What Open311 shows the public instead of the resident's words: written and published by staff.
    public_summary = Column(Text, nullable=True)
    public_summary_by = Column(String(64), nullable=True)
    public_summary_at = Column(UTCDateTime(), nullable=True)
    created_at = Column(UTCDateTime(), nullable=False, default=utcnow)
    updated_at = Column(UTCDateTime(), nullable=False, default=utcnow)

    events = relationship("TicketEvent", back_populates="ticket", order_by="TicketEvent.id")
    followers = relationship("TicketFollower", back_populates="ticket")


class TicketEvent(Base):
    """One entry of a ticket's timeline."""

    __tablename__ = "ticket_events"
    id = Column(Integer, primary_key=True)
    ticket_id = Column(ForeignKey("tickets.id"), nullable=False, index=True)
    at = Column(UTCDateTime(), nullable=False, default=utcnow)
    actor = Column(String(64), nullable=False)
    kind = Column(String(32), nullable=False)
    from_status = Column(String(16), nullable=True)
    to_status = Column(String(16), nullable=True)
    note = Column(Text, nullable=True)
    ticket = relationship("Ticket", back_populates="events")


class TicketFollower(Base):
    """A resident who follows a ticket someone else filed (told when it changes)."""

    __tablename__ = "ticket_followers"
    __table_args__ = (UniqueConstraint("ticket_id", "resident_id"),)
    id = Column(Integer, primary_key=True)
    ticket_id = Column(ForeignKey("tickets.id"), nullable=False, index=True)
    resident_id = Column(ForeignKey("residents.id"), nullable=False, index=True)
    created_at = Column(UTCDateTime(), nullable=False, default=utcnow)
    ticket = relationship("Ticket", back_populates="followers")
