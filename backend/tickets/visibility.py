"""What a resident may see of a ticket: the one rule every channel and API goes through.

The resident who filed a ticket (its owner) sees it whole, in their own
words. A resident who follows it (they reported the same problem and chose
to follow the open ticket) is a stranger to the owner: they see what the
ticket is and how it is being handled — number, category, matter, status,
urgency, deadline, the place as the registry resolved it — and the staff's
entries of the timeline (dispatch, 进展, 办结 results, escalations), masked
for a reader who is not staff. Never the reporter's words (the description,
the place as typed, the notes of the resident's own events such as a rating
comment), name, phone or photos.

The web API (:mod:`backend.web.tickets`), the chat on every channel
(:mod:`actions.ticket_status`, the report form's duplicate prompt) and the
notices of ticket news (:mod:`backend.notifications`) all build what they
show from here. Access itself (whether the resident filed or follows the
ticket at all) is decided by :func:`backend.tickets.service.get_ticket_for_resident`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from backend.categories import CategoryTable, default_table
from backend.models import Building, Place, Resident, Ticket, TicketEvent
from backend.privacy import mask_text
from backend.tickets.lifecycle import OPEN_STATUSES, STATUS_NAMES
from backend.tickets.urgency import URGENCY_NAMES

logger = logging.getLogger(__name__)

# Timeline entries written by these actors are the staff's (or the system's) words, fit for a follower.
# Anyone else — the resident (``resident:``), an outside client (``open311:``), an actor not known
# here — wrote words a follower must not read.
STAFF_ACTORS = ("system", "console:", "grid_member:", "department:", "admin:", "handler:")


@dataclass(frozen=True)
class TimelineEntry:
    """One entry of a ticket's timeline as the viewer may read it."""

    at: datetime
    kind: str
    status: str | None
    status_name: str | None
    note: str | None


@dataclass(frozen=True)
class TicketSummary:
    """One line of a resident's ticket list: nothing in it is anyone's own words."""

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


@dataclass(frozen=True)
class TicketView(TicketSummary):
    """One ticket as the viewer may see it.

    For a follower ``description`` and ``photos`` are ``None`` and ``place``
    is the registry's name of the place (or ``None`` when it was not resolved).
    """

    place: str | None
    description: str | None
    photos: int | None
    timeline: tuple[TimelineEntry, ...]


def is_staff_entry(event: TicketEvent) -> bool:
    """Whether the event was written by staff or the system (its note is not a resident's words)."""
    actor = str(event.actor or "")
    return any(actor == prefix or (prefix.endswith(":") and actor.startswith(prefix)) for prefix in STAFF_ACTORS)


def follower_note(event: TicketEvent) -> str | None:
    """The event's note as a follower may read it: a staff note masked for a non-staff reader, else nothing."""
    if not event.note or not is_staff_entry(event):
        return None
    return mask_text(str(event.note), rooms=True)


def follower_timeline(events: list[TicketEvent]) -> tuple[TimelineEntry, ...]:
    """The staff's entries, and the bare status changes of everyone else's (without their words)."""
    entries = []
    for event in events:
        if not is_staff_entry(event) and not event.to_status:
            continue  # a resident's or client's entry that changes nothing: followed, place added, open311
        entries.append(_entry(event, follower_note(event)))
    return tuple(entries)


def registry_place(*, session: Session, ticket: Ticket) -> str | None:
    """The ticket's place as the registry names it (枫林苑 3号楼, 学府街), never the text the resident typed."""
    if ticket.building_id is not None:
        building = session.get(Building, ticket.building_id)
        if building is not None:
            return f"{building.estate.name} {building.number}号楼"
    if ticket.place_id is not None:
        place = session.get(Place, ticket.place_id)
        if place is not None:
            return str(place.name)
    return None


def summary_of(ticket: Ticket, *, viewer: Resident, now: datetime, table: CategoryTable | None = None) -> TicketSummary:
    """The list line of a ticket, the same for its owner and its followers."""
    return TicketSummary(**_summary_fields(ticket, viewer=viewer, now=now, table=table or default_table()))


def view_of(
    *, session: Session, ticket: Ticket, viewer: Resident, now: datetime, table: CategoryTable | None = None
) -> TicketView:
    """The ticket as ``viewer`` may see it: whole for its owner, the follower's view for anyone else.

    The caller has already checked that the viewer filed or follows the
    ticket; anyone who did not file it gets the follower's view here.
    """
    if ticket.resident_id == viewer.id:
        fields = _summary_fields(ticket, viewer=viewer, now=now, table=table or default_table())
        return TicketView(
            **fields,
            place=str(ticket.place_text) if ticket.place_text else None,
            description=str(ticket.description),
            photos=len(ticket.photos or []),
            timeline=tuple(_entry(e, str(e.note) if e.note else None) for e in ticket.events),
        )
    return follower_view(session=session, ticket=ticket, now=now, table=table)


def follower_view(*, session: Session, ticket: Ticket, now: datetime, table: CategoryTable | None = None) -> TicketView:
    """The ticket as someone who did not file it may see it (also before they follow it: the duplicate prompt)."""
    fields = _summary_fields(ticket, viewer=None, now=now, table=table or default_table())
    return TicketView(
        **fields,
        place=registry_place(session=session, ticket=ticket),
        description=None,
        photos=None,
        timeline=follower_timeline(list(ticket.events)),
    )


def _summary_fields(ticket: Ticket, *, viewer: Resident | None, now: datetime, table: CategoryTable) -> dict[str, Any]:
    category = table.categories.get(str(ticket.category))
    status = str(ticket.status)
    return {
        "number": str(ticket.number),
        "own": viewer is not None and ticket.resident_id == viewer.id,
        "category": str(ticket.category),
        "category_name": category.name if category else str(ticket.category),
        "matter": str(ticket.matter),
        "matter_name": table.matter_names.get(str(ticket.matter), str(ticket.matter)),
        "status": status,
        "status_name": STATUS_NAMES.get(status, status),
        "urgency": str(ticket.urgency),
        "urgency_name": URGENCY_NAMES.get(str(ticket.urgency), str(ticket.urgency)),
        "deadline": ticket.deadline,
        "overdue": status in OPEN_STATUSES and ticket.deadline < now,
        "created_at": ticket.created_at,
    }


def _entry(event: TicketEvent, note: str | None) -> TimelineEntry:
    status = str(event.to_status) if event.to_status else None
    return TimelineEntry(
        at=event.at,
        kind=str(event.kind),
        status=status,
        status_name=STATUS_NAMES.get(status) if status else None,
        note=note,
    )
