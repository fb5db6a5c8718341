"""The console's points pages: a resident's ledger, adjustments, volunteer hours, the 爱心超市 and the ranking.

Every page runs inside :func:`backend.web.console.auth.staff` with its
permission (``points.view``, ``points.adjust``, ``points.volunteer``,
``points.catalogue``); every form post carries the session's CSRF token and
is audited, refusals and failures too. The work goes through
:mod:`backend.points.staff_work`, which only calls the points services and
keeps community staff to their community (a resident outside it answers
like a missing one). The resident lookup is a post, so a phone number never
lands in a URL or an access log; the ledger page is addressed by the
resident code.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Form, HTTPException
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from backend.dates import day
from backend.errors import DomainError, InvalidInput, NotFound
from backend.models import Community, Resident
from backend.points import catalogue_work, staff_work
from backend.points.ranking import ranking_csv, title_of
from backend.web.console.auth import Staff, render, staff
from backend.web.deps import Console, ConsoleContext

router = APIRouter()


def _number(text: str, what: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise InvalidInput(f"{what}请填整数。") from None


def _home(console: ConsoleContext, me: Staff, *, status: int = 200, **extra: Any) -> HTMLResponse:
    members = staff_work.volunteer_members(session=me.db, account=me.account) if me.can("points.volunteer") else []
    page = render(
        console,
        "console_points.html",
        me,
        members=members,
        log_id=uuid.uuid4().hex,
        form=extra.pop("form", {}),
        **extra,
    )
    page.status_code = status
    return page


@router.get("/console/points", response_class=HTMLResponse, tags=["console"])
def points_home(console: Console, done: str = "") -> HTMLResponse:
    """Find a resident (points.view), log volunteer hours (points.volunteer), links to the 爱心超市 and ranking."""
    with staff(console, "points.volunteer") as me:
        return _home(console, me, done=done or None)


@router.post("/console/points/lookup", tags=["console"])
def lookup(console: Console, csrf: str = Form(""), q: str = Form("")) -> Response:
    """Resident code or phone → their ledger page (by code)."""
    with staff(console, "points.view", csrf=csrf, post=True) as me:
        try:
            resident = staff_work.find(session=me.db, account=me.account, reference=q)
        except NotFound as exc:
            me.audit("points.lookup", outcome="failed", why=str(exc))
            return _home(console, me, status=404, error=str(exc), form={"q": q[:64]})
        me.audit("points.lookup", target=str(resident.code))
    return RedirectResponse(f"/console/points/residents/{resident.code}", status_code=303)


def _resident(me: Staff, code: str) -> Resident:
    try:
        return staff_work.find(session=me.db, account=me.account, reference=code)
    except NotFound as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from None


def _ledger_page(
    console: ConsoleContext, me: Staff, resident: Resident, *, status: int = 200, **extra: Any
) -> HTMLResponse:
    page = render(
        console,
        "console_points_resident.html",
        me,
        ledger=staff_work.ledger_of(session=me.db, resident=resident),
        ref=uuid.uuid4().hex,
        form=extra.pop("form", {}),
        **extra,
    )
    page.status_code = status
    return page


@router.get("/console/points/residents/{code}", response_class=HTMLResponse, tags=["console"])
def resident_page(console: Console, code: str, done: str = "") -> HTMLResponse:
    """A resident's balance (the sum of their ledger) and entries; the adjustment form for admins."""
    with staff(console, "points.view") as me:
        return _ledger_page(console, me, _resident(me, code), done=done or None)


@router.post("/console/points/residents/{code}/adjust", tags=["console"])
def adjust(
    console: Console,
    code: str,
    csrf: str = Form(""),
    amount: str = Form(""),
    reason: str = Form(""),
    ref: str = Form(""),
) -> Response:
    """An adjustment (±) with a mandatory reason, through the ledger; a deduction below zero is refused."""
    with staff(console, "points.adjust", csrf=csrf, post=True) as me:
        resident = _resident(me, code)
        try:
            with me.db.begin_nested():
                entry = staff_work.adjust(
                    session=me.db, account=me.account, resident=resident, amount=_number(amount, "调整分数"),
                    reason=reason, ref=ref, now=me.now,
                )  # fmt: skip
                me.audit("points.adjust", target=str(resident.code), amount=int(entry.amount), reason=reason[:200])
        except DomainError as exc:
            me.audit("points.adjust", target=str(resident.code), outcome="failed", why=str(exc), amount=amount[:20])
            return _ledger_page(
                console, me, resident, status=400, error=str(exc), form={"amount": amount[:20], "reason": reason}
            )
    return RedirectResponse(
        f"/console/points/residents/{resident.code}?done={quote(f'已调整 {entry.amount:+d} 分')}", status_code=303
    )


@router.post("/console/points/volunteer", tags=["console"])
def volunteer(
    console: Console,
    csrf: str = Form(""),
    resident: str = Form(""),
    hours: str = Form(""),
    activity: str = Form(""),
    log_id: str = Form(""),
    member: str = Form(""),
) -> Response:
    """Volunteer hours for a resident, through the earning service (the same log id pays once; caps apply)."""
    with staff(console, "points.volunteer", csrf=csrf, post=True) as me:
        try:
            with me.db.begin_nested():
                result = staff_work.log_volunteer(
                    session=me.db, account=me.account, reference=resident, hours=_number(hours, "时长"),
                    activity=activity, log_id=log_id, member_code=member, now=me.now,
                )  # fmt: skip
                target = me.db.get(Resident, result.entry.resident_id)
                me.audit(
                    "points.volunteer", target=str(target.code) if target else None, log_id=log_id,
                    hours=hours[:4], activity=activity[:100], amount=int(result.entry.amount),
                    duplicate=result.duplicate, capped=result.capped,
                )  # fmt: skip
        except DomainError as exc:
            me.audit("points.volunteer", outcome="failed", why=str(exc), log_id=log_id[:64])
            form = {"resident": resident[:64], "hours": hours[:4], "activity": activity[:100], "member": member}
            return _home(console, me, status=400, error=str(exc), form=form)
    return RedirectResponse(f"/console/points?done={quote(staff_work.volunteer_message(result))}", status_code=303)


# --- the 爱心超市 ------------------------------------------------------------------------------


def _community(me: Staff, code: str) -> Community:
    try:
        return staff_work.community_for(session=me.db, account=me.account, code=code)
    except NotFound as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from None


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
def catalogue_page(console: Console, community: str = "", done: str = "") -> HTMLResponse:
    """The community's 爱心超市: items, cost and stock; set stock, add an item, retire or restore one."""
    with staff(console, "points.catalogue") as me:
        return _catalogue_page(console, me, _community(me, community), done=done or None)


@router.post("/console/points/catalogue/{item}/stock", tags=["console"])
def set_stock(
    console: Console, item: str, csrf: str = Form(""), community: str = Form(""), stock: str = Form("")
) -> Response:
    """Set one item's stock (never below zero)."""
    with staff(console, "points.catalogue", csrf=csrf, post=True) as me:
        place = _community(me, community)
        try:
            with me.db.begin_nested():
                found = catalogue_work.set_stock(
                    session=me.db, community=place, item_code=item, stock=_number(stock, "库存")
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
    csrf: str = Form(""),
    community: str = Form(""),
    code: str = Form(""),
    name: str = Form(""),
    cost: str = Form(""),
    stock: str = Form("0"),
) -> Response:
    """Put a new item on the community's shelf."""
    with staff(console, "points.catalogue", csrf=csrf, post=True) as me:
        place = _community(me, community)
        try:
            with me.db.begin_nested():
                item = catalogue_work.add_item(
                    session=me.db, community=place, code=code, name=name, cost=_number(cost, "兑换积分"),
                    stock=_number(stock or "0", "库存"),
                )  # fmt: skip
                me.audit("points.item_add", target=f"{place.code}/{item.code}", name=str(item.name),
                         cost=int(item.cost), stock=int(item.stock))  # fmt: skip
        except DomainError as exc:
            me.audit("points.item_add", target=f"{place.code}/{code[:32]}", outcome="failed", why=str(exc))
            form = {"code": code[:32], "name": name[:64], "cost": cost[:8], "stock": stock[:8]}
            return _catalogue_page(console, me, place, status=400, error=str(exc), form=form)
    done = quote(f"已上架 {item.name}")
    return RedirectResponse(f"/console/points/catalogue?community={place.code}&done={done}", status_code=303)


def _shelve(console: ConsoleContext, item: str, csrf: str, community: str, *, retire: bool) -> Response:
    """下架 or 恢复上架 one item, audited; doing it twice changes nothing and says so."""
    action = "points.item_retire" if retire else "points.item_restore"
    with staff(console, "points.catalogue", csrf=csrf, post=True) as me:
        place = _community(me, community)
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
def retire_item(console: Console, item: str, csrf: str = Form(""), community: str = Form("")) -> Response:
    """Take an item off the shelf (下架): residents no longer see it or redeem it; its history stays."""
    return _shelve(console, item, csrf, community, retire=True)


@router.post("/console/points/catalogue/{item}/restore", tags=["console"])
def restore_item(console: Console, item: str, csrf: str = Form(""), community: str = Form("")) -> Response:
    """Put a retired item back on the shelf (恢复上架), with the stock it had."""
    return _shelve(console, item, csrf, community, retire=False)


# --- the monthly ranking (一月一评比) -------------------------------------------------------------


def _month(me: Staff, month: str) -> str:
    try:
        return staff_work.month_of(month, me.now)
    except DomainError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from None


@router.get("/console/points/ranking", response_class=HTMLResponse, tags=["console"])
def ranking_page(console: Console, community: str = "", month: str = "") -> HTMLResponse:
    """The community's monthly ranking, names masked, with the CSV for the notice board."""
    with staff(console, "points.view") as me:
        place, chosen = _community(me, community), _month(me, month)
        lines = staff_work.ranking(session=me.db, community=place, month=chosen)
        return render(
            console,
            "console_points_ranking.html",
            me,
            community=place,
            communities=staff_work.communities(session=me.db, account=me.account),
            month=chosen,
            lines=[(line, title_of(line) or "") for line in lines],
        )


@router.get("/console/points/ranking.csv", tags=["console"])
def ranking_export(console: Console, community: str = "", month: str = "") -> Response:
    """The ranking as CSV (UTF-8 with a BOM, so Excel opens it), masked names only; the export is audited."""
    with staff(console, "points.view") as me:
        place, chosen = _community(me, community), _month(me, month)
        lines = staff_work.ranking(session=me.db, community=place, month=chosen)
        me.audit("points.ranking_export", target=f"{place.code}/{chosen}", rows=len(lines))
        filename = f"ranking-{place.code}-{chosen}.csv"
    return Response(
        "\ufeff" + ranking_csv(lines),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
