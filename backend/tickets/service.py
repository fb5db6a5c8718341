"""Ticket services: file, route, move through the lifecycle, find duplicates, follow, read.

Keyword-only arguments, the session passed in, plain results; the caller
owns the transaction. Every change appends a :class:`TicketEvent`.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from backend.categories import CategoryTable, default_table
from backend.errors import InvalidInput
from backend.models import GridMember, Resident, Ticket, TicketEvent, TicketFollower
from backend.notifications import queue_dispatch_notice, queue_ticket_event
from backend.tickets.lifecycle import OPEN_STATUSES, check_transition
from backend.tickets.numbering import NUMBER, next_number
from backend.tickets.routing import Route, department_for, route

logger = logging.getLogger(__name__)

DUPLICATE_WINDOW = timedelta(days=7)
URGENCIES = ("normal", "urgent", "emergency")
MAX_DESCRIPTION = 5000


def _event(
    ticket: Ticket, *, at: datetime, actor: str, kind: str, to: str | None = None, note: str | None = None
) -> None:
    ticket.events.append(TicketEvent(at=at, actor=actor, kind=kind, from_status=ticket.status, to_status=to, note=note))


def create_ticket(
    *,
    session: Session,
    resident: Resident,
    category: str,
    description: str,
    place_text: str,
    entities: dict[str, Any],
    now: datetime,
    urgency: str = "normal",
    phone: str | None = None,
    table: CategoryTable | None = None,
) -> Ticket:
    """File a ticket: number, tier and deadline from the category table, routed to a grid.

    Raises:
        InvalidInput: unknown category or urgency, or an empty description.
    """
    table = table or default_table()
    row = table.get(category)
    if row is None:
        raise InvalidInput(f"不认识的诉求类别：{category}")
    if urgency not in URGENCIES:
        raise InvalidInput(f"紧急程度只能是 {'、'.join(URGENCIES)}")
    if not description.strip():
        raise InvalidInput("请说说遇到了什么问题。")
    tier = "immediate" if urgency == "emergency" else row.tier
    where = route(
        session=session, place_text=place_text, entities=entities, fallback_community_id=resident.community_id
    )
    department = department_for(session=session, category=category) if row.matter == "public" else None
    ticket = Ticket(
        number=next_number(session=session, now=now),
        resident_id=resident.id,
        category=category,
        matter=row.matter,
        tier=tier,
        status="submitted",
        urgency=urgency,
        description=description[:MAX_DESCRIPTION],
        place_text=place_text[:500] or None,
        community_id=where.community.id if where.community else None,
        grid_id=where.grid.id if where.grid else None,
        building_id=where.building.id if where.building else None,
        place_id=where.place.id if where.place else None,
        needs_dispatch=0 if where.resolved else 1,
        department_code=department.code if department else None,
        contact_phone=phone,
        photos=[],
        deadline=table.deadline(category, now) if tier == row.tier else table.deadline_for_tier(tier, now),
        created_at=now,
        updated_at=now,
    )
    session.add(ticket)
    _event(ticket, at=now, actor=f"resident:{resident.code}", kind="created", to="submitted", note=description[:200])
    if where.member is not None:
        ticket.assignee_id = where.member.id
        _event(ticket, at=now, actor="system", kind="assigned", to="assigned", note=f"派给网格员 {where.member.name}")
        ticket.status = "assigned"
    else:
        _event(ticket, at=now, actor="system", kind="needs_dispatch", note="地点未能对应到网格，进入社区待派单队列")
    session.flush()
    if where.member is not None:  # the grid member hears of it in their chat
        queue_dispatch_notice(session=session, ticket=ticket, event=ticket.events[-1], now=now)
    return ticket


def add_place(
    *, session: Session, ticket: Ticket, resident: Resident, place_text: str, entities: dict[str, Any], now: datetime
) -> bool:
    """The resident tells the place after filing (an emergency filed before asking): route the ticket again.

    Only a ticket still waiting for dispatch is re-routed; either way the
    place is recorded on the timeline. Returns whether it is now routed.
    """
    _event(ticket, at=now, actor=f"resident:{resident.code}", kind="place_added", note=f"补充地点：{place_text[:200]}")
    if not ticket.needs_dispatch:
        session.flush()
        return True
    where = route(
        session=session, place_text=place_text, entities=entities, fallback_community_id=resident.community_id
    )
    if not where.resolved:
        session.flush()
        return False
    ticket.place_text = f"{ticket.place_text or ''} / {place_text}"[:500]
    ticket.community_id = where.community.id if where.community else ticket.community_id
    ticket.grid_id = where.grid.id if where.grid else None
    ticket.building_id = where.building.id if where.building else None
    ticket.place_id = where.place.id if where.place else None
    ticket.needs_dispatch = 0
    ticket.updated_at = now
    if where.member is not None and ticket.status == "submitted":
        ticket.assignee_id = where.member.id
        _event(ticket, at=now, actor="system", kind="assigned", to="assigned", note=f"派给网格员 {where.member.name}")
        ticket.status = "assigned"
        queue_dispatch_notice(session=session, ticket=ticket, event=ticket.events[-1], now=now)
    session.flush()
    return True


def transition(
    *, session: Session, ticket: Ticket, to: str, actor: str, now: datetime, note: str | None = None
) -> None:
    """Move a ticket to ``to``, recording who did it and why, and queue the news for everyone concerned.

    The resident and the followers are told through the outbox
    (:mod:`backend.notifications`), written in this same transaction; on a
    dispatch (to 已派单) the ticket's grid member is told too.

    Raises:
        InvalidTransition: the lifecycle does not allow it.
        InvalidInput: a ticket cannot be resolved without a result.
    """
    check_transition(ticket.status, to)
    if to == "resolved" and not (note and note.strip()):
        raise InvalidInput("办结时必须写明办理结果。")
    _event(ticket, at=now, actor=actor, kind="status", to=to, note=note)
    ticket.status = to
    ticket.updated_at = now
    if to == "resolved":
        # A new result waits for a new rating; an earlier 不满意 stays on the timeline.
        ticket.resolved_at = now
        ticket.satisfaction = None
        ticket.satisfaction_comment = None
        ticket.rated_at = None
    queue_ticket_event(session=session, ticket=ticket, event=ticket.events[-1], now=now)
    if to == "assigned":  # dispatched (派单): the grid member hears of it in their chat
        queue_dispatch_notice(session=session, ticket=ticket, event=ticket.events[-1], now=now)


def note_progress(*, session: Session, ticket: Ticket, actor: str, note: str, now: datetime) -> None:
    """A progress note (进展) without a status change; the resident and followers are told."""
    _event(ticket, at=now, actor=actor, kind="progress", note=note[:1000])
    ticket.updated_at = now
    queue_ticket_event(session=session, ticket=ticket, event=ticket.events[-1], now=now)


def find_duplicate(*, session: Session, category: str, where: Route, now: datetime) -> Ticket | None:
    """An open ticket of the same category at the same building or road filed in the last 7 days.

    Called before filing, with the new report's route, so the resident can
    follow the existing ticket instead of filing another.
    """
    same_place = []
    if where.building is not None:
        same_place.append(Ticket.building_id == where.building.id)
    if where.place is not None:
        same_place.append(Ticket.place_id == where.place.id)
    if not same_place:
        return None
    return session.scalars(
        select(Ticket)
        .where(
            Ticket.category == category,
            Ticket.status.in_(OPEN_STATUSES),
            Ticket.created_at >= now - DUPLICATE_WINDOW,
            or_(*same_place),
        )
        .order_by(Ticket.created_at.desc())
        .limit(1)  # one row, not every open duplicate (the ORM builds an object for each row it is sent)
    ).first()


def follow(*, session: Session, ticket: Ticket, resident: Resident, now: datetime) -> None:
    """Let a resident follow a ticket (idempotent)."""
    exists = session.scalars(select(TicketFollower).filter_by(ticket_id=ticket.id, resident_id=resident.id)).first()
    if exists is None and ticket.resident_id != resident.id:
        session.add(TicketFollower(ticket_id=ticket.id, resident_id=resident.id, created_at=now))
        _event(ticket, at=now, actor=f"resident:{resident.code}", kind="followed", note="另一位居民也反映了此问题")
        session.flush()


def own_open_ticket(*, session: Session, resident: Resident, number: str) -> Ticket | None:
    """The resident's own ticket with this number while it is open, else ``None`` (followed ones do not count)."""
    ticket = session.scalars(select(Ticket).filter_by(number=number, resident_id=resident.id)).first()
    return ticket if ticket is not None and ticket.status in OPEN_STATUSES else None


def add_resident_note(*, session: Session, ticket: Ticket, resident: Resident, note: str, now: datetime) -> None:
    """What the resident adds to their own ticket (补充情况): the owner and staff read it, a follower never does."""
    _event(ticket, at=now, actor=f"resident:{resident.code}", kind="follow_up", note=f"补充情况：{note[:500]}")
    ticket.updated_at = now
    session.flush()


def handler_name(*, session: Session, ticket: Ticket) -> str | None:
    """The name of the grid member the ticket is assigned to, if any."""
    member = session.get(GridMember, ticket.assignee_id) if ticket.assignee_id else None
    return str(member.name) if member is not None else None


def tickets_for_resident(*, session: Session, resident: Resident, limit: int = 20) -> list[Ticket]:
    """The resident's own and followed tickets, newest first."""
    followed = select(TicketFollower.ticket_id).where(TicketFollower.resident_id == resident.id)
    return list(
        session.scalars(
            select(Ticket)
            .where(or_(Ticket.resident_id == resident.id, Ticket.id.in_(followed)))
            .order_by(Ticket.created_at.desc(), Ticket.id.desc())
            .limit(limit)
        )
    )


def get_ticket(*, session: Session, number: str) -> Ticket | None:
    """The ticket with exactly this number, whoever filed it (for checks the caller makes itself)."""
    return session.scalars(select(Ticket).filter_by(number=number)).first()


def get_ticket_for_resident(*, session: Session, resident: Resident, number: str) -> Ticket | None:
    """The ticket if the resident filed or follows it.

    Someone else's ticket gives ``None``, exactly as a number that does not
    exist, so a resident cannot probe other people's tickets.
    """
    normalised = number.strip().upper()
    if not NUMBER.match(normalised):
        return None
    ticket = session.scalars(select(Ticket).filter_by(number=normalised)).first()
    if ticket is None:
        return None
    if ticket.resident_id == resident.id:
        return ticket
    follows = session.scalars(select(TicketFollower).filter_by(ticket_id=ticket.id, resident_id=resident.id)).first()
    return ticket if follows is not None else None
