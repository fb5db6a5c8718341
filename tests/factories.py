"""Builders for the rows most tests need: a resident who has filed a ticket."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from backend.models import Ticket
from backend.services.residents import get_or_create_resident
from backend.tickets.service import create_ticket


def file_ticket(
    session: Session,
    *,
    now: datetime,
    channel: str = "web",
    sender: str = "r",
    category: str = "elevator",
    description: str = "枫林苑3号楼电梯坏了",
    place_text: str = "枫林苑3号楼",
    entities: dict[str, Any] | None = None,
    **extra: Any,
) -> Ticket:
    """A ticket filed through the ticket service by the resident ``channel:sender`` (created if new).

    The defaults are a routable shared matter (枫林苑 3号楼, the elevator);
    ``extra`` goes to :func:`create_ticket` (urgency, photos …).
    """
    resident = get_or_create_resident(session=session, channel=channel, sender_id=sender)
    return create_ticket(
        session=session,
        resident=resident,
        category=category,
        description=description,
        place_text=place_text,
        entities={"building": 3} if entities is None else entities,
        now=now,
        **extra,
    )
