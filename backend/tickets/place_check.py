"""The place of a report being filled in, checked against the registry before the ticket is filed.

The report form asks where the problem is and checks each answer here: a
place the registry routes (with the registry's own description of it, and
another resident's open ticket of the same category there, which the
resident may follow instead), or an estate named without its building (the
form then asks which building). Nothing is written: the ticket is filed
later by :func:`backend.tickets.service.create_ticket`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from backend.models import Resident
from backend.tickets.routing import describe, route
from backend.tickets.service import find_duplicate
from backend.triage.entities import extract

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PlaceCheck:
    """What the registry makes of a place answer."""

    resolved: bool
    # The place as the registry describes it (only when resolved).
    display: str = ""
    # Another resident's open ticket of the same category at the same building or road (only when resolved).
    duplicate_of: str | None = None
    # The estate's name when the words name an estate the registry knows but no building of it.
    estate_without_building: str | None = None


def check_report_place(
    *, session: Session, resident: Resident, place_text: str, category: str, now: datetime
) -> PlaceCheck:
    """Route the words as a ticket would be routed; when they resolve, look for a ticket to follow instead."""
    where = route(
        session=session,
        place_text=place_text,
        entities=extract(place_text),
        fallback_community_id=resident.community_id,
    )
    if where.resolved:
        duplicate = find_duplicate(session=session, category=category, where=where, now=now)
        other = duplicate if duplicate is not None and duplicate.resident_id != resident.id else None
        return PlaceCheck(resolved=True, display=describe(where), duplicate_of=str(other.number) if other else None)
    estate = str(where.estate.name) if where.estate is not None and where.building is None else None
    return PlaceCheck(resolved=False, estate_without_building=estate)
