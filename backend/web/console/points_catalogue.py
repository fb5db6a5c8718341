"""The console's 爱心超市 pages: a community's items with cost and stock; set stock, add, retire or restore an item.

Runs inside :func:`backend.web.console.auth.staff` with ``points.catalogue``;
every form post carries the session's CSRF token and is audited, refusals and
failures too. The work goes through :mod:`backend.points.catalogue_work`.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from backend.dates import day
from backend.errors import DomainError
from backend.models import Community
from backend.points import catalogue_work, staff_work
from backend.web.console.auth import Staff, render
from backend.web.console.points_input import community_in_scope, form_number
from backend.web.console.staff_dependency import staff_posting, staff_with
from backend.web.deps import Console, ConsoleContext

logger = logging.getLogger(__name__)

router = APIRouter()


def _catalogue_page(
    console: ConsoleContext, me: Staff, community: Community, *, status: int = 200, **extra: Any
) -> HTMLResponse:
    items = catalogue_work.catalogue(session=me.db, community=community)
    page = render(
        console,
        "console_points_catalogue.html",
        me,
        community=community,
        communities=staff_work.communities(session=me.db, account=me.account),
        items=[i for i in items if i.retired_at is None],
        retired=[i for i in items if i.retired_at is not None],
        day=day,
        form=extra.pop("form", {}),
        **extra,
    )
    page.status_code = status
    return page


@router.get("/console/points/catalogue", response_class=HTMLResponse, tags=["console"])
def catalogue_page(
    console: Console, me: Annotated[Staff, staff_with("points.catalogue")], community: str = "", done: str = ""
) -> HTMLResponse:
    """The community's 爱心超市: items, cost and stock; set stock, add an item, retire or restore one."""
    return _catalogue_page(console, me, community_in_scope(me, community), done=done or None)


@router.post("/console/points/catalogue/{item}/stock", tags=["console"])
def set_stock(
    console: Console,
    me: Annotated[Staff, staff_posting("points.catalogue")],
    item: str,
    community: str = Form(""),
    stock: str = Form(""),
) -> Response:
    """Set one item's stock (never below zero)."""
    place = community_in_scope(me, community)
    try:
        with me.db.begin_nested():
            found = catalogue_work.set_stock(
                session=me.db, community=place, item_code=item, stock=form_number(stock, "库存")
            )
            me.audit("points.stock", target=f"{place.code}/{found.code}", stock=int(found.stock))
    except DomainError as exc:
        me.audit("points.stock", target=f"{place.code}/{item[:32]}", outcome="failed", why=str(exc))
        return _catalogue_page(console, me, place, status=400, error=str(exc))
    done = quote(f"{found.name}库存已改为 {found.stock}")
    return RedirectResponse(f"/console/points/catalogue?community={place.code}&done={done}", status_code=303)


@router.post("/console/points/catalogue", tags=["console"])
def add_item(
    console: Console,
    me: Annotated[Staff, staff_posting("points.catalogue")],
    community: str = Form(""),
    code: str = Form(""),
    name: str = Form(""),
    cost: str = Form(""),
    stock: str = Form("0"),
) -> Response:
    """Put a new item on the community's shelf."""
    place = community_in_scope(me, community)
    try:
        with me.db.begin_nested():
            item = catalogue_work.add_item(
                session=me.db, community=place, code=code, name=name, cost=form_number(cost, "兑换积分"),
                stock=form_number(stock or "0", "库存"),
            )  # fmt: skip
            me.audit("points.item_add", target=f"{place.code}/{item.code}", name=str(item.name),
                     cost=int(item.cost), stock=int(item.stock))  # fmt: skip
    except DomainError as exc:
        me.audit("points.item_add", target=f"{place.code}/{code[:32]}", outcome="failed", why=str(exc))
        form = {"code": code[:32], "name": name[:64], "cost": cost[:8], "stock": stock[:8]}
        return _catalogue_page(console, me, place, status=400, error=str(exc), form=form)
    done = quote(f"已上架 {item.name}")
    return RedirectResponse(f"/console/points/catalogue?community={place.code}&done={done}", status_code=303)


def _shelve(console: ConsoleContext, me: Staff, item: str, community: str, *, retire: bool) -> Response:
    """下架 or 恢复上架 one item, audited; doing it twice changes nothing and says so."""
    action = "points.item_retire" if retire else "points.item_restore"
    place = community_in_scope(me, community)
    try:
        with me.db.begin_nested():
            result = catalogue_work.shelve_item(
                session=me.db, community=place, item_code=item, retire=retire, now=me.now
            )
            me.audit(action, target=f"{place.code}/{result.item.code}", changed=result.changed)
    except DomainError as exc:
        me.audit(action, target=f"{place.code}/{item[:32]}", outcome="failed", why=str(exc))
        return _catalogue_page(console, me, place, status=400, error=str(exc))
    done = quote(result.message)
    return RedirectResponse(f"/console/points/catalogue?community={place.code}&done={done}", status_code=303)


@router.post("/console/points/catalogue/{item}/retire", tags=["console"])
def retire_item(
    console: Console, me: Annotated[Staff, staff_posting("points.catalogue")], item: str, community: str = Form("")
) -> Response:
    """Take an item off the shelf (下架): residents no longer see it or redeem it; its history stays."""
    return _shelve(console, me, item, community, retire=True)


@router.post("/console/points/catalogue/{item}/restore", tags=["console"])
def restore_item(
    console: Console, me: Annotated[Staff, staff_posting("points.catalogue")], item: str, community: str = Form("")
) -> Response:
    """Put a retired item back on the shelf (恢复上架), with the stock it had."""
    return _shelve(console, me, item, community, retire=False)
