"""News of a dispatch for the grid member it was dispatched to, in every chat bound to them.

:func:`queue_dispatch_notice` is called in the transaction that dispatches
the ticket, whichever way it reaches a member (routed when filed, routed
once an emergency's place is known, 派单 in the console). Each chat bound
to the member (:class:`~backend.models.gridwork.MemberLink`) is told where,
what in one line, until when, with a 接单 button; a member bound to no
chat is told nothing, and nothing fails.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.categories import default_table
from backend.dates import weekday_and_clock
from backend.gridwork.summary import one_line, place_of
from backend.messages import MEMBER_DISPATCH_NOTICE, MEMBER_DISPATCH_URGENT
from backend.models import Ticket, TicketEvent
from backend.models.gridwork import MemberLink
from backend.notifications.outbox import tell

logger = logging.getLogger(__name__)


def take_button(number: str) -> dict[str, str]:
    """The 接单 button: it sends what a member types to take the ticket (payload ≤ 64 bytes for Telegram)."""
    return {"title": f"接单 {number}", "payload": f"接单 {number}"}


def member_dispatch_text(*, session: Session, ticket: Ticket) -> str:
    """What the member reads of a ticket dispatched to them: number, category, place, one line, deadline."""
    category = default_table().categories.get(str(ticket.category))
    return MEMBER_DISPATCH_NOTICE.format(
        urgent=MEMBER_DISPATCH_URGENT if ticket.urgency in ("urgent", "emergency") else "",
        number=ticket.number,
        category=category.name if category else ticket.category,
        place=place_of(session=session, ticket=ticket),
        summary=one_line(str(ticket.description or "")),
        deadline=weekday_and_clock(ticket.deadline),
    )


def queue_dispatch_notice(*, session: Session, ticket: Ticket, event: TicketEvent, now: datetime) -> int:
    """Tell the ticket's grid member of the dispatch (``event``) in each chat bound to them; how many chats."""
    if ticket.assignee_id is None:
        return 0
    links = session.scalars(select(MemberLink).filter_by(member_id=ticket.assignee_id).order_by(MemberLink.id)).all()
    if not links:
        return 0
    text = member_dispatch_text(session=session, ticket=ticket)
    for link in links:
        tell(
            session=session,
            channel=str(link.channel),
            recipient=str(link.sender_id),
            text=text,
            buttons=[take_button(str(ticket.number))],
            now=now,
        )
    session.flush()
    logger.info("dispatch of %s told to grid member #%s in %d chat(s)", ticket.number, ticket.assignee_id, len(links))
    return len(links)
