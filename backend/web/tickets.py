"""The resident's tickets over HTTP: ``GET /api/tickets`` and ``GET /api/tickets/{number}``.

The caller is the web chat visitor of the signed cookie, never a name in the
request, and sees only tickets they filed or follow. Someone else's number,
a number that does not exist and a malformed one all get the same 404, so
the API cannot be used to probe other people's tickets. Texts come back as
JSON strings; the pages escape them when they show them.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel

from backend import messages
from backend.categories import default_table
from backend.models import Ticket
from backend.services.residents import get_or_create_resident
from backend.tickets.lifecycle import OPEN_STATUSES, STATUS_NAMES
from backend.tickets.service import get_ticket_for_resident, tickets_for_resident
from backend.tickets.urgency import URGENCY_NAMES
from backend.web.errors import problem
from backend.web.identity import visitor_id

router = APIRouter(prefix="/api/tickets", tags=["tickets"])


class TicketSummary(BaseModel):
    """One line of the resident's ticket list."""

    number: str
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
    """One ticket with what the resident said and everything that happened to it."""

    description: str
    place: str | None
    photos: int
    timeline: list[TimelineEntry]


def _summary(ticket: Ticket, now: datetime) -> dict[str, Any]:
    table = default_table()
    category = table.categories[str(ticket.category)]
    return {
        "number": ticket.number,
        "category": ticket.category,
        "category_name": category.name,
        "matter": ticket.matter,
        "matter_name": table.matter_names[str(ticket.matter)],
        "status": ticket.status,
        "status_name": STATUS_NAMES[str(ticket.status)],
        "urgency": ticket.urgency,
        "urgency_name": URGENCY_NAMES.get(str(ticket.urgency), str(ticket.urgency)),
        "deadline": ticket.deadline,
        "overdue": ticket.status in OPEN_STATUSES and ticket.deadline < now,
        "created_at": ticket.created_at,
    }


def _visitor_or_404(request: Request) -> str:
    visitor = visitor_id(request)
    if visitor is None:
        raise HTTPException(status_code=404, detail=messages.TICKET_NOT_FOUND)
    return visitor


@router.get("", response_model=list[TicketSummary])
def my_tickets(request: Request) -> list[TicketSummary]:
    """The visitor's own and followed tickets, newest first (an unknown visitor has none)."""
    visitor = visitor_id(request)
    if visitor is None:
        return []
    now = datetime.now(timezone.utc)
    with request.app.state.sessions.begin() as session:
        resident = get_or_create_resident(session=session, channel="web", sender_id=visitor)
        return [TicketSummary(**_summary(t, now)) for t in tickets_for_resident(session=session, resident=resident)]


@router.get("/{number}", response_model=TicketDetail, responses={404: problem("not the visitor's ticket")})
def my_ticket(number: str, request: Request) -> TicketDetail:
    """One ticket of the visitor's with its timeline."""
    visitor = _visitor_or_404(request)
    now = datetime.now(timezone.utc)
    with request.app.state.sessions.begin() as session:
        resident = get_or_create_resident(session=session, channel="web", sender_id=visitor)
        ticket = get_ticket_for_resident(session=session, resident=resident, number=number[:40])
        if ticket is None:
            raise HTTPException(status_code=404, detail=messages.TICKET_NOT_FOUND)
        return TicketDetail(
            **_summary(ticket, now),
            description=ticket.description,
            place=ticket.place_text,
            photos=len(ticket.photos or []),
            timeline=[
                TimelineEntry(
                    at=e.at,
                    kind=e.kind,
                    status=e.to_status,
                    status_name=STATUS_NAMES.get(str(e.to_status)) if e.to_status else None,
                    note=e.note,
                )
                for e in ticket.events
            ],
        )
