"""What staff do to a ticket from the console, through the same ticket services the chat uses.

Each step lands on the ticket's timeline with the account as the actor
(``console:<username>``) and is told to the resident through the outbox.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.errors import InvalidInput, NotFound
from backend.models import ConsoleAccount, Grid, GridMember, Ticket
from backend.notifications import queue_dispatch_notice
from backend.tickets.escalation import escalate, report_in
from backend.tickets.service import note_progress, transition


def actor_of(account: ConsoleAccount) -> str:
    """How the timeline names a console user."""
    return f"console:{account.username}"


def _text(value: str, what: str) -> str:
    text = (value or "").strip()
    if not text:
        raise InvalidInput(f"请写上{what}。")
    return text[:1000]


def dispatch(*, session: Session, account: ConsoleAccount, ticket: Ticket, member_code: str, now: datetime) -> None:
    """派单: give the ticket to a grid member (their grid becomes the ticket's).

    Raises:
        NotFound: no such grid member, or one outside the account's community.
    """
    member = session.scalars(select(GridMember).filter_by(code=member_code)).first()
    grid = session.get(Grid, member.grid_id) if member is not None else None
    if member is None or grid is None:
        raise NotFound(f"没有网格员 {member_code}。")
    if account.role == "community_staff" and grid.community_id != account.community_id:
        raise NotFound(f"您的社区没有网格员 {member_code}。")
    ticket.grid_id = grid.id
    ticket.community_id = grid.community_id
    ticket.assignee_id = member.id
    ticket.needs_dispatch = 0
    note = f"派给网格员 {member.name}"
    if ticket.status == "assigned":
        note_progress(session=session, ticket=ticket, actor=actor_of(account), note=f"改派：{note}", now=now)
        queue_dispatch_notice(session=session, ticket=ticket, event=ticket.events[-1], now=now)
    else:
        transition(session=session, ticket=ticket, to="assigned", actor=actor_of(account), now=now, note=note)


def add_progress(*, session: Session, account: ConsoleAccount, ticket: Ticket, note: str, now: datetime) -> None:
    """进展: a note for the resident, no status change."""
    note_progress(session=session, ticket=ticket, actor=actor_of(account), note=_text(note, "进展"), now=now)


def resolve(*, session: Session, account: ConsoleAccount, ticket: Ticket, result: str, now: datetime) -> None:
    """办结, only with a result."""
    transition(
        session=session, ticket=ticket, to="resolved", actor=actor_of(account), now=now, note=_text(result, "办理结果")
    )


def blow_whistle(*, session: Session, account: ConsoleAccount, ticket: Ticket, reason: str, now: datetime) -> str:
    """吹哨: one level up with the reason; returns the new level."""
    why = f"吹哨报到（{_text(reason, '吹哨原因')}）"
    return escalate(session=session, ticket=ticket, actor=actor_of(account), why=why, now=now)


def department_reports_in(*, session: Session, account: ConsoleAccount, ticket: Ticket, now: datetime) -> str:
    """报到: the account's department (an admin names none: the category's owner) takes the ticket; its name."""
    code = account.department_code
    if not code:
        from backend.tickets.routing import department_for

        owner = department_for(session=session, category=str(ticket.category))
        if owner is None:
            raise InvalidInput("这类工单没有对应的职能部门，请派给社区或网格。")
        code = str(owner.code)
    department = report_in(session=session, ticket=ticket, department_code=code, actor=actor_of(account), now=now)
    return str(department.name)


def reopen(*, session: Session, account: ConsoleAccount, ticket: Ticket, reason: str, now: datetime) -> None:
    """重新办理: a resolved ticket goes back to work, with the reason."""
    transition(
        session=session, ticket=ticket, to="reopened", actor=actor_of(account), now=now, note=_text(reason, "原因")
    )


SUMMARY_LIMIT = 500


def publish_summary(*, session: Session, account: ConsoleAccount, ticket: Ticket, summary: str, now: datetime) -> None:
    """公开摘要: what Open311's public view shows of this ticket instead of the resident's words.

    Staff write it for the public (what the problem is and where, without
    who reported it); it is masked again when shown. Private matters are
    never public, so they cannot have one.

    Raises:
        InvalidInput: an empty or over-long summary, or a private matter.
    """
    if ticket.matter == "private":
        raise InvalidInput("自家事不对外公开，不能发布公开摘要。")
    text = (summary or "").strip()
    if not text:
        raise InvalidInput("请写上公开摘要。")
    if len(text) > SUMMARY_LIMIT:
        raise InvalidInput(f"公开摘要最多 {SUMMARY_LIMIT} 个字，请精简。")
    ticket.public_summary = text
    ticket.public_summary_by = actor_of(account)
    ticket.public_summary_at = now
    session.flush()


def unpublish_summary(*, session: Session, account: ConsoleAccount, ticket: Ticket) -> None:
    """撤下公开摘要: the public view goes back to showing no description at all."""
    ticket.public_summary = None
    ticket.public_summary_by = None
    ticket.public_summary_at = None
    session.flush()
