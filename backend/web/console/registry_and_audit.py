"""The console's registry page and the audit trail.

Staff see which street, communities, grids, estates and roads the assistant
routes to, who answers for each grid (phones masked), the category table
and which department answers for each public category; admins change the
routing here (:mod:`backend.web.console.registry_edits`) and read every action
taken in the console. Login and permissions: :mod:`backend.web.console.auth`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from backend import labels
from backend.categories import default_table
from backend.console import audit
from backend.console.senders import shown_sender
from backend.models import (
    AuditEntry,
    Building,
    CatalogueItem,
    Community,
    ConsoleAccount,
    Department,
    Estate,
    Grid,
    GridMember,
    Place,
    PointsRule,
    Street,
)
from backend.models.chat import PENDING, ChatMessage
from backend.privacy import mask_phone
from backend.web.console.auth import Staff, render
from backend.web.console.staff_dependency import staff_with
from backend.web.deps import Console, ConsoleContext

router = APIRouter()


@router.get("/console", response_class=HTMLResponse, tags=["console"])
def overview(
    console: Console, me: Annotated[Staff, staff_with("console.home")], done: str = "", error: str = ""
) -> HTMLResponse:
    """The registry overview page (with the routing edits for admins); other roles start at the tickets."""
    if not me.can("registry.view"):
        return RedirectResponse("/console/tickets", status_code=303)  # type: ignore[return-value]
    return _overview(console, me, done=done[:300] or None, error=error[:300] or None)


def _overview(console: ConsoleContext, me: Staff, **extra: Any) -> HTMLResponse:
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
        console,
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
def audit_trail(console: Console, me: Annotated[Staff, staff_with("audit.view")], action: str = "") -> HTMLResponse:
    """The newest console actions, allowed and refused (admins only)."""
    entries = audit.recent(session=me.db, limit=200, action=action or None)
    accounts = {str(a.username): str(a.display_name) for a in me.db.scalars(select(ConsoleAccount))}
    return render(
        console,
        "console_audit.html",
        me,
        entries=entries,
        action=action,
        accounts=accounts,
        actions=labels.AUDIT_ACTIONS,
        target=lambda entry: audit_target(me.db, entry),
    )


def audit_target(session: Session, entry: AuditEntry) -> str:
    """What an audit entry was about, in words staff read: a ticket number, a page, a resident, a conversation.

    Entries keep the codes (``fly#3``, ``job:3``, ``web:…``) so the trail
    stays exact; the page names them.
    """
    target = str(entry.target or "")
    action = str(entry.action)
    if not target:
        return "—"
    if target.startswith("/"):
        return f"页面 {target}"
    if action.startswith("conversations.") and target in ("list", "jsonl", "csv"):
        return {"list": "对话列表", "jsonl": "对话导出（JSONL）", "csv": "对话导出（CSV）"}[target]
    if action.startswith("conversations."):
        return f"对话 {shown_sender(target)}"
    if target.startswith("job:"):
        return f"第 {target[4:]} 次训练"
    if action.startswith("registry."):
        return _registry_name(session, action, target)
    if action.startswith("points.") and "/" in target:
        community, _, item = target.partition("/")
        found = session.scalars(select(CatalogueItem).filter_by(code=item)).first()
        place = session.scalars(select(Community).filter_by(code=community)).first()
        return f"{place.name if place else '社区'} · {found.name if found else '物品'}"
    if action == "stats.export":
        return "统计表"
    if action == "review.view":
        return "待标注列表"
    return target


def _registry_name(session: Session, action: str, target: str) -> str:
    """The registry row an edit changed, by name."""
    if action == "registry.building":
        code, _, number = target.partition("#")
        estate = session.scalars(select(Estate).filter_by(code=code)).first()
        return f"{estate.name if estate else '小区'}{number}号楼"
    for model in (Place, Estate, Department, GridMember):
        row = session.scalars(select(model).filter_by(code=target)).first()
        if row is not None:
            return str(row.name)
    return "网格台账"
