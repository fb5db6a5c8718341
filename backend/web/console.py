"""The console's registry page and the audit trail.

Staff see which street, communities, grids, estates and roads the assistant
routes to, who answers for each grid (phones masked), the category table
and which department answers for each public category; admins change the
routing here (:mod:`backend.web.console_registry`) and read every action
taken in the console. Login and permissions: :mod:`backend.web.console_auth`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from backend.categories import default_table
from backend.console import audit
from backend.models import Building, CatalogueItem, Community, Department, Grid, PointsRule, Street
from backend.models.chat import PENDING, ChatMessage
from backend.privacy import mask_phone
from backend.web.console_auth import Staff, render, staff

router = APIRouter()


@router.get("/console", response_class=HTMLResponse, tags=["console"])
def overview(request: Request, done: str = "", error: str = "") -> HTMLResponse:
    """The registry overview page (with the routing edits for admins); other roles start at the tickets."""
    with staff(request, "console.home") as me:
        if not me.can("registry.view"):
            return RedirectResponse("/console/tickets", status_code=303)  # type: ignore[return-value]
        return _overview(request, me, done=done[:300] or None, error=error[:300] or None)


def _overview(request: Request, me: Staff, **extra: Any) -> HTMLResponse:
    session = me.db
    streets = session.scalars(
        select(Street).options(
            selectinload(Street.communities).selectinload(Community.grids).selectinload(Grid.members),
            selectinload(Street.communities)
            .selectinload(Community.grids)
            .selectinload(Grid.buildings)
            .selectinload(Building.estate),
            selectinload(Street.communities).selectinload(Community.grids).selectinload(Grid.places),
            selectinload(Street.communities).selectinload(Community.estates),
        )
    ).all()
    departments = session.scalars(select(Department).order_by(Department.code)).all()
    rules = session.scalars(select(PointsRule).order_by(PointsRule.id)).all()
    items = session.scalars(select(CatalogueItem).order_by(CatalogueItem.community_id, CatalogueItem.cost)).all()
    pending = session.scalar(select(func.count()).select_from(ChatMessage).where(ChatMessage.status == PENDING))
    return render(
        request,
        "console.html",
        me,
        streets=streets,
        departments=departments,
        rules=rules,
        items=items,
        pending=pending,
        mask_phone=mask_phone,
        table=default_table(),
        grids=session.scalars(select(Grid).order_by(Grid.code)).all(),
        **extra,
    )


@router.get("/console/audit", response_class=HTMLResponse, tags=["console"])
def audit_trail(request: Request, action: str = "") -> HTMLResponse:
    """The newest console actions, allowed and refused (admins only)."""
    with staff(request, "audit.view") as me:
        entries = audit.recent(session=me.db, limit=200, action=action or None)
        return render(request, "console_audit.html", me, entries=entries, action=action)
