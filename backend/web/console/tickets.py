"""The console's ticket board: the tickets in the account's scope, with filters, overdue ones first.

The board and the ticket page (:mod:`backend.web.console.ticket_page`, with
the staff's steps) show only the tickets in the account's scope
(:func:`backend.console.access.ticket_filter`).
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from backend import labels
from backend.categories import default_table
from backend.console.access import ticket_filter
from backend.dates import weekday_and_clock
from backend.models import Grid, Ticket
from backend.privacy import mask_text
from backend.tickets.escalation import ESCALATION_CHAIN, LEVEL_NAMES
from backend.tickets.lifecycle import OPEN_STATUSES, STATUS_NAMES
from backend.web.console.auth import Staff, render
from backend.web.console.staff_dependency import staff_with
from backend.web.console.ticket_display import NOT_DISPATCHED, place_of, registry_places
from backend.web.deps import Console

logger = logging.getLogger(__name__)

router = APIRouter()

BOARD_LIMIT = 200
SUMMARY_CHARS = 30


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
    me: Annotated[Staff, staff_with("tickets.view")],
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


def one_line(text: str, limit: int = SUMMARY_CHARS) -> str:
    """The first line of a text, cut to ``limit`` characters: the board's 概要."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"
