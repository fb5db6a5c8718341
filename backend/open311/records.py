"""What a reader sees of a request: the public view for anyone, the full record for the client that filed it.

The public view is built only from columns that hold nothing anyone typed
(category, status, the registry's name of the routed place) plus a summary a
staff member published; the full record adds what the client itself sent.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from backend.categories import DISTRICT_TZ, CategoryTable
from backend.models import Building, Department, Grid, Place, Ticket
from backend.open311.clients import filed_by
from backend.privacy import mask_text
from backend.tickets.escalation import LEVEL_NAMES
from backend.tickets.lifecycle import OPEN_STATUSES, STATUS_NAMES

# The timeline kinds whose note tells how the handling goes (not what a resident wrote or rated).
NOTE_KINDS = ("assigned", "needs_dispatch", "status", "progress", "place_added")
_COORDINATES = re.compile(r"坐标 (-?\d{1,2}\.\d+),(-?\d{1,3}\.\d+)")


def _iso(moment: datetime | None) -> str:
    return moment.astimezone(DISTRICT_TZ).isoformat(timespec="seconds") if moment else ""


def department_names(session: Session) -> dict[str, str]:
    """Department code → name, read once for a whole list."""
    return {str(d.code): str(d.name) for d in session.scalars(select(Department))}


def _common(table: CategoryTable, departments: Mapping[str, str], ticket: Ticket) -> dict[str, Any]:
    """The fields every reader gets: none of them holds anything a resident or a staff member wrote."""
    category = table.categories[str(ticket.category)]
    return {
        "service_request_id": ticket.number,
        "status": "open" if ticket.status in OPEN_STATUSES else "closed",
        "status_notes": "",
        "service_name": category.name,
        "service_code": ticket.category,
        "description": "",
        "agency_responsible": departments.get(str(ticket.department_code), category.handler),
        "service_notice": f"{STATUS_NAMES[str(ticket.status)]}；{table.tier_names[str(ticket.tier)]}",
        "requested_datetime": _iso(ticket.created_at),
        "updated_datetime": _iso(ticket.updated_at),
        "expected_datetime": _iso(ticket.deadline),
        "address": "",
        "address_id": "",
        "zipcode": "",
        "lat": None,
        "long": None,
        "media_url": "",
    }


def public_status_note(ticket: Ticket) -> str:
    """How the handling goes, in words of the lifecycle only: no staff note, so no name of anyone."""
    level = LEVEL_NAMES.get(str(ticket.escalation_level), "网格")
    status = str(ticket.status)
    if status == "submitted":
        return "已受理，等待社区派单" if ticket.needs_dispatch else "已受理"
    notes = {
        "assigned": f"已派单，由{level}办理",
        "in_progress": f"{level}正在办理",
        "escalated": f"已升级到{level}办理",
        "resolved": "已办结，等待居民评价",
        "reopened": f"重新办理中，由{level}办理",
        "closed": "已办结",
        "guidance": "已向居民提供办事指引",
    }
    return notes.get(status, STATUS_NAMES.get(status, ""))


def registry_places(session: Session, tickets: list[Ticket]) -> dict[int, str]:
    """Ticket id → the place as the registry routed it: 枫林苑3号楼, a road, else the grid; unrouted: none.

    Read from the registry's rows only, never from the place text a resident typed.
    """
    building_ids = {t.building_id for t in tickets if t.building_id is not None}
    place_ids = {t.place_id for t in tickets if t.place_id is not None}
    grid_ids = {t.grid_id for t in tickets if t.grid_id is not None}
    buildings: dict[int, str] = {}
    if building_ids:
        query = select(Building).where(Building.id.in_(building_ids)).options(selectinload(Building.estate))
        buildings = {int(b.id): f"{b.estate.name}{b.number}号楼" for b in session.scalars(query)}
    places: dict[int, str] = {}
    if place_ids:
        places = {int(p.id): str(p.name) for p in session.scalars(select(Place).where(Place.id.in_(place_ids)))}
    grids: dict[int, str] = {}
    if grid_ids:
        grids = {int(g.id): str(g.name) for g in session.scalars(select(Grid).where(Grid.id.in_(grid_ids)))}
    named: dict[int, str] = {}
    for ticket in tickets:
        name = buildings.get(ticket.building_id) or places.get(ticket.place_id) or grids.get(ticket.grid_id)
        if name:
            named[int(ticket.id)] = name
    return named


def public_record(table: CategoryTable, departments: Mapping[str, str], place: str, ticket: Ticket) -> dict[str, Any]:
    """One ticket as anyone may read it: no resident's words unless staff published a summary, no names.

    ``description`` is the published summary (masked again, room numbers too)
    or empty; ``address`` the registry's name for the routed place;
    ``status_notes`` a note from the lifecycle; no coordinates.
    """
    record = _common(table, departments, ticket)
    record["status_notes"] = public_status_note(ticket)
    record["address"] = place
    if ticket.public_summary:
        record["description"] = mask_text(str(ticket.public_summary), rooms=True)
    return record


def _staff_note(ticket: Ticket) -> str:
    for event in reversed(ticket.events):
        if event.kind in NOTE_KINDS and event.note:
            return mask_text(str(event.note))
    return ""


def full_record(table: CategoryTable, departments: Mapping[str, str], ticket: Ticket) -> dict[str, Any]:
    """One ticket as the client that filed it reads it: what it sent, the place as given, the latest staff note."""
    record = _common(table, departments, ticket)
    place = str(ticket.place_text or "")
    point = _COORDINATES.search(place)
    record.update(
        status_notes=_staff_note(ticket),
        description=str(ticket.description),
        address=place,
        lat=float(point.group(1)) if point else None,
        long=float(point.group(2)) if point else None,
    )
    return record


def request_records(
    *, session: Session, table: CategoryTable, tickets: list[Ticket], client: str | None
) -> list[dict[str, Any]]:
    """The records of ``tickets`` for a reader: in full the ones ``client`` filed, the public view of the rest.

    Without a client (no key) every record is the public one: the reader's
    identity is the only thing that widens what is shown.
    """
    departments = department_names(session)
    mine: set[int] = set()
    if client is not None and tickets:
        ids = [t.id for t in tickets]
        own = select(Ticket.id).where(Ticket.id.in_(ids), Ticket.resident_id.in_(filed_by(client)))
        mine = {int(i) for i in session.scalars(own)}
    if mine:
        session.scalars(
            select(Ticket).where(Ticket.id.in_(mine)).options(selectinload(Ticket.events))
        ).all()  # their timelines in one query, for the staff notes
    places = registry_places(session, [t for t in tickets if t.id not in mine])
    return [
        full_record(table, departments, t)
        if t.id in mine
        else public_record(table, departments, places.get(int(t.id), ""), t)
        for t in tickets
    ]
