"""One ticket in the console: its page (what, where, who, until when, its timeline) and the staff's steps on it.

A number outside the account's scope (:func:`backend.console.access.ticket_filter`)
is a 404 like a missing one. Each step is a form post with the session's CSRF
token, goes through :mod:`backend.console.ticket_work` (the same ticket
services the chat uses, so the resident is told), and is audited. One step
does not move the ticket: 公开摘要, the text Open311's public view shows of
it instead of the resident's words (see ``docs/open311.md``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from backend import labels
from backend.categories import default_table
from backend.console import ticket_work
from backend.console.access import ticket_filter
from backend.dates import weekday_and_clock
from backend.errors import DomainError
from backend.models import ConsoleAccount, Department, Grid, GridMember, Ticket
from backend.privacy import mask_phone, mask_text
from backend.tickets.escalation import LEVEL_NAMES
from backend.tickets.lifecycle import OPEN_STATUSES, STATUS_NAMES, TRANSITIONS
from backend.web.console.auth import Staff, render
from backend.web.console.staff_dependency import staff_posting, staff_with
from backend.web.console.ticket_display import NOT_DISPATCHED, PRIVATE_DEADLINE, place_of, registry_places
from backend.web.deps import Console, ConsoleContext

logger = logging.getLogger(__name__)

router = APIRouter()

# Each step: the permission it needs, what it is called, and the form field it asks for (if any).
STEPS: dict[str, tuple[str, str, str | None]] = {
    "dispatch": ("tickets.dispatch", "派单", "member"),
    "progress": ("tickets.work", "写进展", "note"),
    "resolve": ("tickets.work", "办结", "note"),
    "escalate": ("tickets.work", "吹哨（升一级）", "note"),
    "report-in": ("tickets.report_in", "报到（本部门接手）", None),
    "department-resolve": ("tickets.report_in", "办结", "note"),
    "reopen": ("tickets.dispatch", "重新办理", "note"),
    "publish": ("tickets.publish", "公开摘要", "summary"),
    "unpublish": ("tickets.publish", "撤下公开摘要", None),
}
# Steps that do not move the ticket: a department may take them on what it sees, as anyone in scope.
NOT_HANDLING = ("publish", "unpublish")


def steps_for(me: Staff, ticket: Ticket) -> list[str]:
    """The steps this person may take on this ticket now."""
    status = str(ticket.status)
    possible = {
        "dispatch": status in OPEN_STATUSES and ticket.escalation_level in ("grid", "community"),
        "progress": status in OPEN_STATUSES,
        "resolve": "resolved" in TRANSITIONS.get(status, frozenset()),
        "escalate": status in OPEN_STATUSES and ticket.escalation_level != "department",
        "report-in": status == "escalated" and ticket.escalation_level == "department",
        "department-resolve": ticket.escalation_level == "department" and status == "in_progress",
        "reopen": status == "resolved",
        "publish": ticket.matter != "private",
        "unpublish": bool(ticket.public_summary),
    }
    out = [step for step, ok in possible.items() if ok and me.can(STEPS[step][0])]
    if me.account.role == "department":  # a department works only what it took over
        out = [s for s in out if s in ("report-in", "department-resolve", *NOT_HANDLING)]
    elif "department-resolve" in out:
        out.remove("department-resolve")  # others resolve with the general step
    return out


def actor_names(db: Session, actors: Sequence[str]) -> dict[str, str]:
    """The names behind the timeline's actors (``console:…``, ``grid_member:…``, ``department:…``)."""
    codes: dict[str, set[str]] = {}
    for actor in actors:
        kind, _, code = actor.partition(":")
        codes.setdefault(kind, set()).add(code)
    names: dict[str, str] = {}
    if codes.get("console"):
        query = select(ConsoleAccount).where(ConsoleAccount.username.in_(codes["console"]))
        names.update({f"console:{a.username}": str(a.display_name) for a in db.scalars(query)})
    if codes.get("grid_member"):
        query = select(GridMember).where(GridMember.code.in_(codes["grid_member"]))
        names.update({f"grid_member:{m.code}": str(m.name) for m in db.scalars(query)})
    if codes.get("department"):
        query = select(Department).where(Department.code.in_(codes["department"]))
        names.update({f"department:{d.code}": str(d.name) for d in db.scalars(query)})
    return names


def _ticket_page(console: ConsoleContext, me: Staff, ticket: Ticket, **extra: Any) -> HTMLResponse:
    table = default_table()
    category = table.categories.get(str(ticket.category))
    department = (
        me.db.scalars(select(Department).filter_by(code=ticket.department_code)).first()
        if ticket.department_code
        else None
    )
    private = ticket.matter == "private"
    members: list[GridMember] = []
    if "dispatch" in steps_for(me, ticket):
        query = select(GridMember).join(Grid).order_by(GridMember.code).options(selectinload(GridMember.grid))
        if me.account.role == "community_staff":
            query = query.where(Grid.community_id == me.account.community_id)
        members = list(me.db.scalars(query))
    return render(
        console,
        "console_ticket.html",
        me,
        ticket=ticket,
        category=category,
        matter=labels.matter(ticket.matter),
        tier=NOT_DISPATCHED if private else labels.tier(ticket.tier),
        status=labels.status(ticket.status),
        statuses=STATUS_NAMES,
        level=labels.level(ticket.escalation_level),
        department=department.name if department is not None else None,
        place=place_of(ticket, registry_places(me.db, [ticket])),
        deadline=PRIVATE_DEADLINE if private else weekday_and_clock(ticket.deadline),
        events=[(weekday_and_clock(e.at), e) for e in ticket.events],
        actors=actor_names(me.db, [str(e.actor) for e in ticket.events] + [str(ticket.public_summary_by or "")]),
        steps=[(step, STEPS[step][1], STEPS[step][2]) for step in steps_for(me, ticket)],
        members=members,
        phone=mask_phone(str(ticket.contact_phone)) if ticket.contact_phone else "未留",
        public_summary=mask_text(str(ticket.public_summary), rooms=True) if ticket.public_summary else None,
        public_summary_at=weekday_and_clock(ticket.public_summary_at) if ticket.public_summary_at else None,
        **extra,
    )


def _load(me: Staff, number: str) -> Ticket:
    ticket = me.db.scalars(
        select(Ticket)
        .where(Ticket.number == number.strip().upper(), ticket_filter(me.db, me.account))
        .options(selectinload(Ticket.events))
    ).first()
    if ticket is None:
        raise HTTPException(status_code=404, detail="没有这张工单，或不在您负责的范围内。")
    return ticket


@router.get("/console/tickets/{number}", response_class=HTMLResponse, tags=["console"])
def ticket_page(
    console: Console, me: Annotated[Staff, staff_with("tickets.view")], number: str, done: str = ""
) -> HTMLResponse:
    """One ticket: what, where, who, until when, its timeline, and the steps this person may take."""
    return _ticket_page(console, me, _load(me, number), done=done or None)


def _step_permission(request: Request) -> str:
    """The permission the step in the path needs; 404 for a step that does not exist."""
    step = request.path_params.get("step", "")
    if step not in STEPS:
        raise HTTPException(status_code=404, detail="没有这个操作。")
    return STEPS[step][0]


@router.post("/console/tickets/{number}/{step}", tags=["console"])
def take_step(
    console: Console,
    me: Annotated[Staff, staff_posting(_step_permission)],
    number: str,
    step: str,
    note: str = Form(""),
    member: str = Form(""),
) -> Response:
    """Take one step on a ticket; the page comes back with the result or the reason it was refused."""
    title = STEPS[step][1]
    ticket = _load(me, number)
    error: str | None = None
    if step not in steps_for(me, ticket):
        error = f"这张工单现在不能“{title}”。"
    else:
        try:
            with me.db.begin_nested():
                done = _do(me, ticket, step, note=note, member=member)
                me.audit(f"ticket.{step}", target=str(ticket.number), note=note[:200], member=member)
        except DomainError as exc:
            error = str(exc)
    if error is not None:
        me.audit(f"ticket.{step}", target=str(ticket.number), outcome="failed", why=error)
        page = _ticket_page(console, me, ticket, error=error)
        page.status_code = 400
        return page
    return RedirectResponse(f"/console/tickets/{ticket.number}?done={done}", status_code=303)


def _do(me: Staff, ticket: Ticket, step: str, *, note: str, member: str) -> str:
    now = datetime.now(timezone.utc)
    db, account = me.db, me.account
    if step == "dispatch":
        ticket_work.dispatch(session=db, account=account, ticket=ticket, member_code=member, now=now)
        return "已派单"
    if step == "progress":
        ticket_work.add_progress(session=db, account=account, ticket=ticket, note=note, now=now)
        return "进展已记录"
    if step in ("resolve", "department-resolve"):
        ticket_work.resolve(session=db, account=account, ticket=ticket, result=note, now=now)
        return "已办结，已请居民评价"
    if step == "escalate":
        level = ticket_work.blow_whistle(session=db, account=account, ticket=ticket, reason=note, now=now)
        return f"已升级到{LEVEL_NAMES[level]}"
    if step == "report-in":
        name = ticket_work.department_reports_in(session=db, account=account, ticket=ticket, now=now)
        return f"{name}已报到"
    if step == "publish":
        ticket_work.publish_summary(session=db, account=account, ticket=ticket, summary=note, now=now)
        return "公开摘要已发布"
    if step == "unpublish":
        ticket_work.unpublish_summary(session=db, account=account, ticket=ticket)
        return "公开摘要已撤下"
    ticket_work.reopen(session=db, account=account, ticket=ticket, reason=note, now=now)
    return "已重新办理"
