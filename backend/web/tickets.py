"""The resident's tickets over HTTP: ``GET /api/tickets`` and ``GET /api/tickets/{number}``.

The caller is the web chat visitor of the signed cookie, never a name in the
request, and sees only tickets they filed or follow. Someone else's number,
a number that does not exist and a malformed one all get the same 404, so
the API cannot be used to probe other people's tickets. What each ticket
shows is decided by :mod:`backend.tickets.visibility`: the resident who filed
it sees it whole, a follower only the handling (no description, typed place,
photos or the reporter's notes). A visitor who has never sent anything has
no resident row, and reading does not create one. Texts come back as JSON
strings; the pages escape them when they show them.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timezone

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel

from backend import messages
from backend.categories import default_table
from backend.services.residents import find_resident
from backend.tickets.service import get_ticket_for_resident, tickets_for_resident
from backend.tickets.visibility import summary_of, view_of
from backend.web.deps import DbSession, Sessions, Visitor
from backend.web.errors import problem

router = APIRouter(prefix="/api/tickets", tags=["tickets"])


class TicketSummary(BaseModel):
    """One line of the resident's ticket list (``own``: filed by them, else followed)."""

    number: str
    own: bool
    category: str
    category_name: str
    matter: str
    matter_name: str
    status: str
    status_name: str
    urgency: str
    urgency_name: str
    deadline: datetime
    overdue: bool
    created_at: datetime


class TimelineEntry(BaseModel):
    """One event of a ticket's timeline."""

    at: datetime
    kind: str
    status: str | None
    status_name: str | None
    note: str | None


class TicketDetail(TicketSummary):
    """One ticket: for its owner with what they said; for a follower only the handling.

    A follower gets ``description`` and ``photos`` as null and ``place`` as
    the registry's name of the place.
    """

    description: str | None
    place: str | None
    photos: int | None
    timeline: list[TimelineEntry]


@router.get("", response_model=list[TicketSummary])
def my_tickets(visitor: Visitor, sessions: Sessions) -> list[TicketSummary]:
    """The visitor's own and followed tickets, newest first (an unknown visitor has none)."""
    if visitor is None:
        return []
    now = datetime.now(timezone.utc)
    table = default_table()
    with sessions() as session:
        resident = find_resident(session=session, channel="web", sender_id=visitor)
        if resident is None:
            return []
        return [
            TicketSummary(**asdict(summary_of(t, viewer=resident, now=now, table=table)))
            for t in tickets_for_resident(session=session, resident=resident)
        ]


@router.get("/{number}", response_model=TicketDetail, responses={404: problem("not the visitor's ticket")})
def my_ticket(number: str, visitor: Visitor, session: DbSession) -> TicketDetail:
    """One ticket of the visitor's (filed or followed) with the timeline they may read."""
    now = datetime.now(timezone.utc)
    resident = find_resident(session=session, channel="web", sender_id=visitor) if visitor else None
    ticket = get_ticket_for_resident(session=session, resident=resident, number=number[:40]) if resident else None
    if resident is None or ticket is None:
        raise HTTPException(status_code=404, detail=messages.TICKET_NOT_FOUND)
    return TicketDetail(**asdict(view_of(session=session, ticket=ticket, viewer=resident, now=now)))
