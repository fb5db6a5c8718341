"""What a grid member does with the tickets of their grid: list, take, report progress, resolve, blow the whistle.

Every step goes through the ticket service, so it lands on the timeline and
the resident (and followers) are told through the outbox. A member acts
only on tickets of their own grid; any other number gets the same answer
as a number that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.errors import InvalidInput, NotFound
from backend.gridwork.summary import one_line, place_of
from backend.models import GridMember, Ticket
from backend.tickets.escalation import escalate
from backend.tickets.lifecycle import OPEN_STATUSES
from backend.tickets.service import note_progress, transition


def _actor(member: GridMember) -> str:
    return f"grid_member:{member.code}"


def ticket_of_grid(*, session: Session, member: GridMember, number: str | None) -> Ticket:
    """The ticket if it is in the member's grid.

    Raises:
        NotFound: no number, no such ticket, or another grid's (one answer for all).
    """
    if not number:
        raise NotFound("请带上工单号，比如“接单 GZ20261122-0003”。说“我的待办”可以看到本网格的工单。")
    ticket = session.scalars(select(Ticket).filter_by(number=number.upper())).first()
    if ticket is None or ticket.grid_id != member.grid_id:
        raise NotFound(f"您的网格里没有工单 {number}。说“我的待办”看看本网格的工单。")
    return ticket


@dataclass(frozen=True)
class Todo:
    """One open ticket of the grid: where, what (one line), and until when."""

    number: str
    category: str
    status: str
    deadline: datetime
    overdue: bool
    place: str
    summary: str = ""


def todo(*, session: Session, member: GridMember, now: datetime) -> list[Todo]:
    """The open tickets of the member's grid: overdue first, then by deadline."""
    tickets = session.scalars(
        select(Ticket).where(Ticket.grid_id == member.grid_id, Ticket.status.in_(OPEN_STATUSES))
    ).all()
    rows = [
        Todo(
            number=str(t.number),
            category=str(t.category),
            status=str(t.status),
            deadline=t.deadline,
            overdue=t.deadline < now,
            place=place_of(session=session, ticket=t),
            summary=one_line(str(t.description or "")),
        )
        for t in tickets
    ]
    return sorted(rows, key=lambda r: (not r.overdue, r.deadline))


def take(*, session: Session, member: GridMember, number: str | None, now: datetime) -> Ticket:
    """接单: the member takes the ticket; it is 处理中 from now."""
    ticket = ticket_of_grid(session=session, member=member, number=number)
    if ticket.status == "in_progress" and ticket.assignee_id == member.id:
        raise InvalidInput(f"工单 {ticket.number} 您已经接过了，正在处理中。有进展发“进展 {ticket.number} 内容”。")
    ticket.assignee_id = member.id
    transition(
        session=session,
        ticket=ticket,
        to="in_progress",
        actor=_actor(member),
        now=now,
        note=f"网格员 {member.name} 已接单",
    )
    return ticket


def progress(*, session: Session, member: GridMember, number: str | None, note: str, now: datetime) -> Ticket:
    """进展: a progress note for the resident, without a status change."""
    if not note.strip():
        raise InvalidInput("请写上进展，比如“进展 GZ20261122-0003 维修师傅明早到”。")
    ticket = ticket_of_grid(session=session, member=member, number=number)
    note_progress(session=session, ticket=ticket, actor=_actor(member), note=note.strip(), now=now)
    return ticket


def resolve(*, session: Session, member: GridMember, number: str | None, result: str, now: datetime) -> Ticket:
    """办结: only with a result, which the resident reads before rating."""
    if not result.strip():
        raise InvalidInput("办结要写明办理结果，比如“办结 GZ20261122-0003 已更换灯泡”。")
    ticket = ticket_of_grid(session=session, member=member, number=number)
    transition(session=session, ticket=ticket, to="resolved", actor=_actor(member), now=now, note=result.strip())
    return ticket


def whistle(*, session: Session, member: GridMember, number: str | None, reason: str, now: datetime) -> Ticket:
    """吹哨: send the ticket one level up the chain (网格 → 社区 → 街道 → 职能部门) with the reason."""
    if not reason.strip():
        raise InvalidInput("吹哨要写明原因，比如“吹哨 GZ20261122-0003 涉及燃气管道，需要专业单位”。")
    ticket = ticket_of_grid(session=session, member=member, number=number)
    escalate(session=session, ticket=ticket, actor=_actor(member), why=f"吹哨报到（{reason.strip()}）", now=now)
    return ticket
