"""The staff's points API (JSON) under ``/api/console/points``: the same work as the console pages.

Authenticated by the console's session cookie and checked by the same
:func:`backend.web.console.auth.staff` (permissions, scope, audit of
refusals). Every write needs the header ``X-CSRF-Token`` equal to the
session's CSRF token (``GET /api/console/points/csrf`` tells it to a
logged-in page). Not logged in → 401, not allowed or a wrong token → 403,
both ``{"detail": "…"}`` in Chinese; a resident or community outside the
account's scope is a 404 like a missing one.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from backend.errors import DomainError, NotFound
from backend.models import CatalogueItem, Community, Resident
from backend.points import catalogue_work, staff_work
from backend.points.ledger import CapReached, NotEnoughPoints
from backend.points.ranking import title_of
from backend.web.console.auth import NotLoggedIn, Refused, Staff, require_login_json, staff
from backend.web.deps import Console, ConsoleContext

router = APIRouter(prefix="/api/console/points", tags=["console-points"], dependencies=[Depends(require_login_json)])

CSRF_HEADER = "X-CSRF-Token"


@contextmanager
def api_staff(console: ConsoleContext, permission: str, *, write: bool = False) -> Iterator[Staff]:
    """:func:`staff` for JSON: the CSRF token from the header; 401/403 as JSON instead of pages."""
    token = console.request.headers.get(CSRF_HEADER, "") if write else None
    try:
        with staff(console, permission, csrf=token, post=write) as me:
            yield me
    except NotLoggedIn:
        raise HTTPException(status_code=401, detail="请先登录工作台。") from None
    except Refused as exc:
        raise HTTPException(status_code=403, detail=exc.why) from None


def failed(exc: DomainError) -> JSONResponse:
    """A refused piece of work as JSON (after its audit entry, which commits with the transaction)."""
    status = 404 if isinstance(exc, NotFound) else 409 if isinstance(exc, (NotEnoughPoints, CapReached)) else 400
    return JSONResponse({"detail": str(exc)}, status_code=status)


# --- bodies and answers (they appear in /docs) -------------------------------------------------------


class CsrfOut(BaseModel):
    """The session's CSRF token."""

    csrf_token: str = Field(description=f"send it back in the {CSRF_HEADER} header of every write")


class EntryOut(BaseModel):
    """One ledger entry."""

    day: str
    amount: int
    rule: str = Field(description="规则中文名")
    reason: str
    source: str
    actor: str


class LedgerOut(BaseModel):
    """A resident's balance and latest entries, newest first."""

    code: str
    name: str
    phone: str = Field(description="masked, 138****5678")
    community: str
    balance: int = Field(description="the sum of the ledger")
    entries: list[EntryOut]


class AdjustmentIn(BaseModel):
    """An adjustment: amount (±) and a mandatory reason."""

    amount: int = Field(ge=-10_000, le=10_000, description="positive adds, negative deducts; not 0")
    reason: str = Field(max_length=staff_work.REASON_MAX, description="mandatory")
    ref: str = Field(
        default_factory=lambda: uuid.uuid4().hex,
        pattern=r"^[A-Za-z0-9_-]{8,64}$",
        description="id of this adjustment (8–64 of A-Z a-z 0-9 _ -); repeating it does not apply twice",
    )


class AdjustmentOut(BaseModel):
    """The adjustment's entry and the new balance."""

    amount: int
    reason: str
    balance: int


class VolunteerIn(BaseModel):
    """Volunteer hours for a resident."""

    resident: str = Field(max_length=64, description="resident code (R…) or kept mobile number")
    hours: int = Field(ge=1, le=12)
    activity: str = Field(default="", max_length=staff_work.ACTIVITY_MAX)
    log_id: str = Field(
        default_factory=lambda: uuid.uuid4().hex,
        pattern=r"^[A-Za-z0-9_-]{8,64}$",
        description="id of this log (8–64 of A-Z a-z 0-9 _ -); repeating it pays once",
    )
    member: str = Field(default="", max_length=32, description="grid member code (ignored for a grid member)")


class VolunteerOut(BaseModel):
    """What the volunteer log did."""

    amount: int
    reason: str
    duplicate: bool
    capped: bool
    message: str


class ItemOut(BaseModel):
    """One 爱心超市 item."""

    code: str
    name: str
    cost: int
    stock: int
    retired: bool = Field(False, description="taken off the shelf (下架): residents neither see nor redeem it")
    retired_at: str | None = Field(None, description="when it was retired (ISO 8601, UTC); null while offered")


class ShelvingOut(BaseModel):
    """What 下架 / 恢复上架 did."""

    item: ItemOut
    changed: bool = Field(description="false: it already was so, nothing changed")
    message: str


class CatalogueOut(BaseModel):
    """A community's 爱心超市."""

    community: str
    items: list[ItemOut]


class StockIn(BaseModel):
    """The item's counted stock."""

    stock: int = Field(ge=0, le=catalogue_work.STOCK_MAX)


class ItemIn(BaseModel):
    """A new 爱心超市 item."""

    code: str = Field(max_length=32)
    name: str = Field(max_length=64)
    cost: int = Field(ge=1, le=catalogue_work.STOCK_MAX)
    stock: int = Field(default=0, ge=0, le=catalogue_work.STOCK_MAX)


class RankOut(BaseModel):
    """One line of the ranking."""

    rank: int
    shown_name: str = Field(description="masked, 周**")
    points: int
    title: str


class RankingOut(BaseModel):
    """A community's ranking for a month."""

    community: str
    month: str
    lines: list[RankOut]


def _item_out(item: CatalogueItem) -> ItemOut:
    retired_at = item.retired_at.isoformat() if item.retired_at is not None else None
    return ItemOut(
        code=str(item.code),
        name=str(item.name),
        cost=int(item.cost),
        stock=int(item.stock),
        retired=retired_at is not None,
        retired_at=retired_at,
    )


def _resident(me: Staff, reference: str) -> Resident:
    try:
        return staff_work.find(session=me.db, account=me.account, reference=reference)
    except NotFound as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from None


def _community(me: Staff, code: str) -> Community:
    try:
        return staff_work.community_for(session=me.db, account=me.account, code=code)
    except NotFound as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from None


# --- routes ---------------------------------------------------------------------------------------


@router.get("/csrf", response_model=CsrfOut)
def csrf_token(console: Console) -> CsrfOut:
    """The session's CSRF token, for a page that calls the write routes."""
    with api_staff(console, "console.home") as me:
        return CsrfOut(csrf_token=str(me.login.csrf_token))


@router.get("/residents/{reference}", response_model=LedgerOut)
def resident_ledger(console: Console, reference: str) -> LedgerOut:
    """A resident's balance and latest entries (by resident code; a kept phone number works too)."""
    with api_staff(console, "points.view") as me:
        resident = _resident(me, reference)
        me.audit("points.lookup", target=str(resident.code), via="api")
        found = staff_work.ledger_of(session=me.db, resident=resident)
        return LedgerOut(
            code=found.code,
            name=found.name,
            phone=found.phone,
            community=found.community,
            balance=found.balance,
            entries=[EntryOut(**line.__dict__) for line in found.lines],
        )


@router.post(
    "/residents/{reference}/adjustments",
    response_model=AdjustmentOut,
    status_code=201,
    responses={400: {}, 401: {}, 403: {}, 404: {}, 409: {"description": "would go below zero"}},
)
def adjustment(console: Console, reference: str, body: AdjustmentIn) -> AdjustmentOut | JSONResponse:
    """An audited adjustment with a mandatory reason; a deduction below zero is refused (409)."""
    with api_staff(console, "points.adjust", write=True) as me:
        resident = _resident(me, reference)
        try:
            with me.db.begin_nested():
                entry = staff_work.adjust(
                    session=me.db, account=me.account, resident=resident, amount=body.amount, reason=body.reason,
                    ref=body.ref, now=me.now,
                )  # fmt: skip
                me.audit("points.adjust", target=str(resident.code), amount=int(entry.amount),
                         reason=body.reason[:200], via="api")  # fmt: skip
        except DomainError as exc:
            me.audit("points.adjust", target=str(resident.code), outcome="failed", why=str(exc), via="api")
            return failed(exc)
        return AdjustmentOut(
            amount=int(entry.amount),
            reason=str(entry.reason),
            balance=staff_work.ledger.balance(session=me.db, resident=resident),
        )


@router.post(
    "/volunteer",
    response_model=VolunteerOut,
    responses={400: {}, 401: {}, 403: {}, 404: {}, 409: {"description": "this month's cap is used up"}},
)
def volunteer(console: Console, body: VolunteerIn) -> VolunteerOut | JSONResponse:
    """Volunteer hours through the earning service: the same log id pays once, monthly caps apply."""
    with api_staff(console, "points.volunteer", write=True) as me:
        try:
            with me.db.begin_nested():
                result = staff_work.log_volunteer(
                    session=me.db, account=me.account, reference=body.resident, hours=body.hours,
                    activity=body.activity, log_id=body.log_id, member_code=body.member, now=me.now,
                )  # fmt: skip
                target = me.db.get(Resident, result.entry.resident_id)
                me.audit(
                    "points.volunteer", target=str(target.code) if target else None, log_id=body.log_id,
                    hours=body.hours, activity=body.activity, amount=int(result.entry.amount),
                    duplicate=result.duplicate, capped=result.capped, via="api",
                )  # fmt: skip
        except DomainError as exc:
            me.audit("points.volunteer", outcome="failed", why=str(exc), log_id=body.log_id, via="api")
            return failed(exc)
        return VolunteerOut(
            amount=int(result.entry.amount),
            reason=str(result.entry.reason),
            duplicate=result.duplicate,
            capped=result.capped,
            message=staff_work.volunteer_message(result),
        )


@router.get("/catalogue", response_model=CatalogueOut)
def catalogue(console: Console, community: str = "") -> CatalogueOut:
    """The community's 爱心超市, retired items included and marked (community staff: their own; an admin names one)."""
    with api_staff(console, "points.catalogue") as me:
        place = _community(me, community)
        items = catalogue_work.catalogue(session=me.db, community=place)
        return CatalogueOut(community=str(place.code), items=[_item_out(i) for i in items])


@router.post("/catalogue", response_model=ItemOut, status_code=201, responses={400: {}, 401: {}, 403: {}, 404: {}})
def add_item(console: Console, body: ItemIn, community: str = "") -> ItemOut | JSONResponse:
    """A new item on the community's shelf."""
    with api_staff(console, "points.catalogue", write=True) as me:
        place = _community(me, community)
        try:
            with me.db.begin_nested():
                item = catalogue_work.add_item(
                    session=me.db, community=place, code=body.code, name=body.name, cost=body.cost, stock=body.stock
                )
                me.audit("points.item_add", target=f"{place.code}/{item.code}", name=str(item.name),
                         cost=int(item.cost), stock=int(item.stock), via="api")  # fmt: skip
        except DomainError as exc:
            me.audit("points.item_add", target=f"{place.code}/{body.code}", outcome="failed", why=str(exc), via="api")
            return failed(exc)
        return _item_out(item)


@router.put("/catalogue/{item}/stock", response_model=ItemOut, responses={400: {}, 401: {}, 403: {}, 404: {}})
def set_stock(console: Console, item: str, body: StockIn, community: str = "") -> ItemOut | JSONResponse:
    """Set one item's stock (never below zero)."""
    with api_staff(console, "points.catalogue", write=True) as me:
        place = _community(me, community)
        try:
            with me.db.begin_nested():
                found = catalogue_work.set_stock(session=me.db, community=place, item_code=item, stock=body.stock)
                me.audit("points.stock", target=f"{place.code}/{found.code}", stock=int(found.stock), via="api")
        except DomainError as exc:
            me.audit("points.stock", target=f"{place.code}/{item[:32]}", outcome="failed", why=str(exc), via="api")
            return failed(exc)
        return _item_out(found)


def _shelve(console: ConsoleContext, item: str, community: str, *, retire: bool) -> ShelvingOut | JSONResponse:
    action = "points.item_retire" if retire else "points.item_restore"
    with api_staff(console, "points.catalogue", write=True) as me:
        place = _community(me, community)
        try:
            with me.db.begin_nested():
                result = catalogue_work.shelve_item(
                    session=me.db, community=place, item_code=item, retire=retire, now=me.now
                )
                me.audit(action, target=f"{place.code}/{result.item.code}", changed=result.changed, via="api")
        except DomainError as exc:
            me.audit(action, target=f"{place.code}/{item[:32]}", outcome="failed", why=str(exc), via="api")
            return failed(exc)
        return ShelvingOut(item=_item_out(result.item), changed=result.changed, message=result.message)


@router.post("/catalogue/{item}/retire", response_model=ShelvingOut, responses={401: {}, 403: {}, 404: {}})
def retire_item(console: Console, item: str, community: str = "") -> ShelvingOut | JSONResponse:
    """Take an item off the shelf (下架): residents no longer see or redeem it; its history stays.

    Retiring a retired item changes nothing (``changed`` false).
    """
    return _shelve(console, item, community, retire=True)


@router.post("/catalogue/{item}/restore", response_model=ShelvingOut, responses={401: {}, 403: {}, 404: {}})
def restore_item(console: Console, item: str, community: str = "") -> ShelvingOut | JSONResponse:
    """Put a retired item back on the shelf (恢复上架) with the stock it had; an offered item stays as it is."""
    return _shelve(console, item, community, retire=False)


@router.get("/ranking", response_model=RankingOut, responses={400: {}, 401: {}, 403: {}, 404: {}})
def ranking(console: Console, community: str = "", month: str = "") -> RankingOut:
    """The community's 一月一评比 for a month (YYYY-MM, default this month), names masked."""
    with api_staff(console, "points.view") as me:
        place = _community(me, community)
        try:
            chosen = staff_work.month_of(month, me.now)
        except DomainError as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from None
        lines = staff_work.ranking(session=me.db, community=place, month=chosen)
        return RankingOut(
            community=str(place.code),
            month=chosen,
            lines=[
                RankOut(rank=line.rank, shown_name=line.shown_name, points=line.points, title=title_of(line) or "")
                for line in lines
            ],
        )
