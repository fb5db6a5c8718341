"""The 爱心超市 shelf from the console and the command line: items, stock counts, 下架 and 恢复上架.

A thin layer over :mod:`backend.points.supermarket` in the scope of one
community (:func:`backend.points.staff_work.community_for` picks it for
the account): an item is found by its code within that community only, and
the checks a staff member's typing needs (code format, plausible counts)
live here. Items are never deleted: redemptions and ledger entries refer
to them, so one the community no longer offers is retired.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.errors import InvalidInput, NotFound
from backend.models import CatalogueItem, Community
from backend.points import supermarket

STOCK_MAX = 100_000
ITEM_CODE = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")


def catalogue(*, session: Session, community: Community) -> list[CatalogueItem]:
    """The community's 爱心超市 items, cheapest first, retired ones (``retired_at`` set) included."""
    return list(
        session.scalars(
            select(CatalogueItem).filter_by(community_id=community.id).order_by(CatalogueItem.cost, CatalogueItem.id)
        )
    )


def _item(session: Session, community: Community, code: str) -> CatalogueItem:
    item = session.scalars(select(CatalogueItem).filter_by(community_id=community.id, code=code.strip())).first()
    if item is None:
        raise NotFound("这个社区的爱心超市没有这件物品。")
    return item


def set_stock(*, session: Session, community: Community, item_code: str, stock: int) -> CatalogueItem:
    """Count the item's stock anew.

    Raises:
        NotFound: no such item in the community.
        InvalidInput: a negative or implausible count.
    """
    if stock < 0:
        raise InvalidInput("库存不能小于 0。")
    if stock > STOCK_MAX:
        raise InvalidInput(f"库存不能超过 {STOCK_MAX}。")
    item = _item(session, community, item_code)
    item.stock = stock
    session.flush()
    return item


def add_item(*, session: Session, community: Community, code: str, name: str, cost: int, stock: int) -> CatalogueItem:
    """A new item on the community's shelf.

    Raises:
        InvalidInput: a bad code, name, cost or stock, or a code the community already uses.
    """
    code, name = code.strip(), name.strip()
    if not ITEM_CODE.match(code):
        raise InvalidInput("物品编号请用小写字母、数字和连字符，最多 32 个，例如 rice-5kg。")
    if not name or len(name) > 64:
        raise InvalidInput("请写上物品名称（64 字以内）。")
    if not 1 <= cost <= STOCK_MAX:
        raise InvalidInput(f"兑换所需积分要在 1 到 {STOCK_MAX} 之间。")
    if not 0 <= stock <= STOCK_MAX:
        raise InvalidInput(f"库存要在 0 到 {STOCK_MAX} 之间。")
    same = session.scalars(select(CatalogueItem).filter_by(community_id=community.id, code=code)).first()
    if same is not None:
        hint = "（已下架，可以恢复上架）" if same.retired_at is not None else ""
        raise InvalidInput(f"这个社区已经有编号为 {code} 的物品了{hint}。")
    item = CatalogueItem(community_id=community.id, code=code, name=name, cost=cost, stock=stock)
    session.add(item)
    session.flush()
    return item


@dataclass(frozen=True)
class Shelving:
    """What 下架 or 恢复上架 did: the item, and whether it changed (False: it already was so)."""

    item: CatalogueItem
    retired: bool
    changed: bool

    @property
    def message(self) -> str:
        """What the staff member is told."""
        name = self.item.name
        if self.retired:
            if not self.changed:
                return f"{name}已经是下架状态，没有改动。"
            return f"已下架 {name}：居民看不到也不能再兑换它，以前的兑换记录不变。"
        return f"已恢复上架 {name}（库存 {self.item.stock}）。" if self.changed else f"{name}本来就在架上，没有改动。"


def retire_item(*, session: Session, community: Community, item_code: str, now: datetime) -> Shelving:
    """Take an item off the community's shelf (下架); retiring a retired item changes nothing.

    Raises:
        NotFound: no such item in the community.
    """
    item = _item(session, community, item_code)
    return Shelving(item=item, retired=True, changed=supermarket.retire(session=session, item=item, now=now))


def restore_item(*, session: Session, community: Community, item_code: str) -> Shelving:
    """Put a retired item back on the community's shelf (恢复上架); an item on the shelf stays as it is.

    Raises:
        NotFound: no such item in the community.
    """
    item = _item(session, community, item_code)
    return Shelving(item=item, retired=False, changed=supermarket.restore(session=session, item=item))


def shelve_item(*, session: Session, community: Community, item_code: str, retire: bool, now: datetime) -> Shelving:
    """下架 (``retire``) or 恢复上架 one item: what the console page and the staff API both do."""
    if retire:
        return retire_item(session=session, community=community, item_code=item_code, now=now)
    return restore_item(session=session, community=community, item_code=item_code)
