"""The staff's points API for the 爱心超市: a community's items, a new item, stock, retiring and restoring.

Access, CSRF and refusals as :mod:`backend.web.console.points_api` describes.
"""

from __future__ import annotations

import logging

from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from backend.errors import DomainError
from backend.models import CatalogueItem
from backend.points import catalogue_work
from backend.web.console.points_api import api_router, api_staff, failed
from backend.web.console.points_input import community_in_scope
from backend.web.deps import Console, ConsoleContext

logger = logging.getLogger(__name__)

router = api_router()


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


@router.get("/catalogue", response_model=CatalogueOut)
def catalogue(console: Console, community: str = "") -> CatalogueOut:
    """The community's 爱心超市, retired items included and marked (community staff: their own; an admin names one)."""
    with api_staff(console, "points.catalogue") as me:
        place = community_in_scope(me, community)
        items = catalogue_work.catalogue(session=me.db, community=place)
        return CatalogueOut(community=str(place.code), items=[_item_out(i) for i in items])


@router.post("/catalogue", response_model=ItemOut, status_code=201, responses={400: {}, 401: {}, 403: {}, 404: {}})
def add_item(console: Console, body: ItemIn, community: str = "") -> ItemOut | JSONResponse:
    """A new item on the community's shelf."""
    with api_staff(console, "points.catalogue", write=True) as me:
        place = community_in_scope(me, community)
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
        place = community_in_scope(me, community)
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
        place = community_in_scope(me, community)
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
