"""The console's tickets: a board with filters, a ticket page with its timeline, and the staff's steps.

The board and the page show only the tickets in the account's scope
(:func:`backend.console.access.ticket_filter`); a number outside it is a
404 like a missing one. Each step is a form post with the session's CSRF
token, goes through :mod:`backend.console.ticket_work` (the same ticket
services the chat uses, so the resident is told), and is audited. One step
does not move the ticket: 公开摘要, the text Open311's public view shows of
it instead of the resident's words (see ``docs/open311.md``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

from fastapi import APIRouter, Form, HTTPException
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from backend import labels
from backend.categories import default_table
from backend.console import ticket_work
from backend.console.access import ticket_filter
from backend.dates import weekday_and_clock
from backend.errors import DomainError
from backend.models import Building, ConsoleAccount, Department, Grid, GridMember, Place, Ticket
from backend.privacy import mask_phone, mask_text
from backend.tickets.escalation import ESCALATION_CHAIN, LEVEL_NAMES
from backend.tickets.lifecycle import OPEN_STATUSES, STATUS_NAMES, TRANSITIONS
from backend.web.console.auth import Staff, render, staff
from backend.web.deps import Console, ConsoleContext

router = APIRouter()

BOARD_LIMIT = 200
SUMMARY_CHARS = 30
NO_PLACE = "居民没有单独说明地点（见“情况”）"
# A private matter (自家事) is the household's own: nothing is dispatched, so there is no deadline to show.
NOT_DISPATCHED = "不派单"
PRIVATE_DEADLINE = "自家事不派单，没有办结时限；社区按居民的求助对接服务"
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


def _board_query(me: Staff, filters: dict[str, str]) -> Any:
    query = select(Ticket).where(ticket_filter(me.db, me.account))
    if filters.get("status") == "open":
        query = query.where(Ticket.status.in_(OPEN_STATUSES))
    elif filters.get("status") in STATUS_NAMES:
        query = query.where(Ticket.status == filters["status"])
    if filters.get("matter"):
        query = query.where(Ticket.matter == filters["matter"])
    if filters.get("category"):
        query = query.where(Ticket.category == filters["category"])
    if filters.get("level") in ESCALATION_CHAIN:
        query = query.where(Ticket.escalation_level == filters["level"])
    if filters.get("grid"):
        query = query.join(Grid, Grid.id == Ticket.grid_id).where(Grid.code == filters["grid"])
    if filters.get("overdue"):
        query = query.where(Ticket.status.in_(OPEN_STATUSES), Ticket.deadline < me.now)
    return query.order_by(Ticket.deadline).limit(BOARD_LIMIT)


@router.get("/console/tickets", response_class=HTMLResponse, tags=["console"])
def board(
    console: Console,
    status: str = "open",
    matter: str = "",
    category: str = "",
    grid: str = "",
    level: str = "",
    overdue: str = "",
) -> HTMLResponse:
    """The ticket board: filters in the query string, overdue ones marked."""
    filters = {"status": status, "matter": matter, "category": category, "grid": grid, "level": level}
    filters["overdue"] = "1" if overdue else ""
    with staff(console, "tickets.view") as me:
        tickets = me.db.scalars(_board_query(me, filters)).all()
        grids = {g.id: g for g in me.db.scalars(select(Grid))}
        table = default_table()
        places = registry_places(me.db, tickets)
        rows = [
            {
                "ticket": t,
                "category": labels.category(t.category),
                "grid": grids[t.grid_id].name if t.grid_id in grids else "待派单",
                "overdue": t.matter != "private" and t.status in OPEN_STATUSES and t.deadline < me.now,
                "deadline": NOT_DISPATCHED if t.matter == "private" else weekday_and_clock(t.deadline),
                "place": mask_text(place_of(t, places), rooms=True),
                "summary": one_line(mask_text(str(t.description), rooms=True)),
            }
            for t in tickets
        ]
        rows.sort(key=lambda r: (not r["overdue"], r["ticket"].deadline))
        return render(
            console,
            "console_tickets.html",
            me,
            rows=rows,
            filters=filters,
            statuses=STATUS_NAMES,
            table=table,
            levels=LEVEL_NAMES,
            grids=sorted(grids.values(), key=lambda g: g.code),
        )


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


def one_line(text: str, limit: int = SUMMARY_CHARS) -> str:
    """The first line of a text, cut to ``limit`` characters: the board's 概要."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


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
def ticket_page(console: Console, number: str, done: str = "") -> HTMLResponse:
    """One ticket: what, where, who, until when, its timeline, and the steps this person may take."""
    with staff(console, "tickets.view") as me:
        return _ticket_page(console, me, _load(me, number), done=done or None)


@router.post("/console/tickets/{number}/{step}", tags=["console"])
def take_step(
    console: Console,
    number: str,
    step: str,
    csrf: str = Form(""),
    note: str = Form(""),
    member: str = Form(""),
) -> Response:
    """Take one step on a ticket; the page comes back with the result or the reason it was refused."""
    if step not in STEPS:
        raise HTTPException(status_code=404, detail="没有这个操作。")
    permission, title, _ = STEPS[step]
    error: str | None = None
    with staff(console, permission, csrf=csrf, post=True) as me:
        ticket = _load(me, number)
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
