"""What a grid member reads of their grid's tickets in the chat: the staff's view, as the console shows it.

A member works the tickets of their grid, so they read what the console
shows a grid member for them: the place, the resident's description, every
entry of the timeline, the deadline and the contact phone masked; in a chat
message, numbers a resident typed (phones, ID cards) are masked as well.
A ticket of another grid gets the answer a number that does not exist gets
(:func:`backend.gridwork.work.ticket_of_grid`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from backend.categories import CategoryTable, default_table
from backend.gridwork.summary import place_of
from backend.gridwork.work import ticket_of_grid
from backend.messages import TIMELINE_KIND_NAMES
from backend.models import GridMember
from backend.privacy import mask_phone, mask_text
from backend.tickets.lifecycle import OPEN_STATUSES, STATUS_NAMES

logger = logging.getLogger(__name__)

DESCRIPTION_CHARS = 300
PLACE_CHARS = 200


@dataclass(frozen=True)
class StaffEntry:
    """One timeline entry as staff read it: when, what it is, and the note whole."""

    at: datetime
    label: str
    note: str | None


@dataclass(frozen=True)
class MemberTicketView:
    """One ticket of the member's grid as the member reads it in the chat."""

    number: str
    category_name: str
    status: str
    status_name: str
    urgent: bool
    place: str
    description: str
    phone: str
    deadline: datetime
    overdue: bool
    assigned_to_me: bool
    timeline: tuple[StaffEntry, ...]


def member_view(
    *, session: Session, member: GridMember, number: str | None, now: datetime, table: CategoryTable | None = None
) -> MemberTicketView:
    """The ticket as the member may read it, if it is in their grid.

    Raises:
        NotFound: no number, no such ticket, or another grid's (one answer for all).
    """
    ticket = ticket_of_grid(session=session, member=member, number=number)
    table = table or default_table()
    category = table.categories.get(str(ticket.category))
    status = str(ticket.status)
    description = " ".join(mask_text(str(ticket.description or "")).split())
    if len(description) > DESCRIPTION_CHARS:
        description = description[: DESCRIPTION_CHARS - 1] + "…"
    return MemberTicketView(
        number=str(ticket.number),
        category_name=category.name if category else str(ticket.category),
        status=status,
        status_name=STATUS_NAMES.get(status, status),
        urgent=ticket.urgency in ("urgent", "emergency"),
        place=place_of(session=session, ticket=ticket, limit=PLACE_CHARS),
        description=description,
        phone=mask_phone(str(ticket.contact_phone)) if ticket.contact_phone else "未留",
        deadline=ticket.deadline,
        overdue=status in OPEN_STATUSES and ticket.deadline < now,
        assigned_to_me=ticket.assignee_id == member.id,
        timeline=tuple(
            StaffEntry(
                at=event.at,
                label=STATUS_NAMES.get(str(event.to_status), "")
                if event.to_status
                else TIMELINE_KIND_NAMES.get(str(event.kind), "记录"),
                note=mask_text(str(event.note)) if event.note else None,
            )
            for event in ticket.events
        ),
    )
