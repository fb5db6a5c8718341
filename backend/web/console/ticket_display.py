"""How the console shows where a ticket is, and a private matter's missing deadline: the board's and the page's.

The place is the registry's building or road when the ticket was routed to
one, else what the resident gave as the place, never the whole report.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from backend.models import Building, Place, Ticket

logger = logging.getLogger(__name__)

NO_PLACE = "居民没有单独说明地点（见“情况”）"
# A private matter (自家事) is the household's own: nothing is dispatched, so there is no deadline to show.
NOT_DISPATCHED = "不派单"
PRIVATE_DEADLINE = "自家事不派单，没有办结时限；社区按居民的求助对接服务"


def registry_places(db: Session, tickets: Sequence[Ticket]) -> dict[tuple[str, int], str]:
    """The registry's name of each routed ticket's building or road, read in two queries for the whole board."""
    building_ids = {int(t.building_id) for t in tickets if t.building_id is not None}
    place_ids = {int(t.place_id) for t in tickets if t.place_id is not None}
    names: dict[tuple[str, int], str] = {}
    if building_ids:
        query = select(Building).where(Building.id.in_(building_ids)).options(selectinload(Building.estate))
        names.update({("building", int(b.id)): f"{b.estate.name} {b.number}号楼" for b in db.scalars(query)})
    if place_ids:
        roads = db.scalars(select(Place).where(Place.id.in_(place_ids)))
        names.update({("place", int(p.id)): str(p.name) for p in roads})
    return names


def place_of(ticket: Ticket, names: dict[tuple[str, int], str]) -> str:
    """Where the ticket is: the registry's place, else what the resident gave as the place (never the whole report)."""
    if ticket.building_id is not None and ("building", int(ticket.building_id)) in names:
        return names[("building", int(ticket.building_id))]
    if ticket.place_id is not None and ("place", int(ticket.place_id)) in names:
        return names[("place", int(ticket.place_id))]
    given = str(ticket.place_text or "").strip()
    if not given or given == str(ticket.description).strip():
        return NO_PLACE
    return f"{given}（未对应到台账）"
