"""The 爱心超市: what a resident can afford, and redeeming an item for a code to show at the counter.

Redeeming takes the points and one item of stock in one transaction: the
stock goes down only through ``stock = stock - 1 WHERE stock > 0`` (and a
CHECK keeps it from going below zero), so two residents racing for the
last item cannot both get it; the points go through the ledger's debit,
which cannot overspend.

An item the community no longer offers is retired (下架), never deleted:
redemptions and their ledger entries refer to it. A retired item is left
out of the catalogue and of :func:`find_item`, and :func:`redeem` refuses
it — also when the resident chose it before it was retired, and also when
the retirement lands while the redemption runs: the stock is taken only
``WHERE retired_at IS NULL``, so a redemption either finishes before the
retirement or changes nothing.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from backend.errors import DomainError, InvalidInput, NotFound
from backend.models import CatalogueItem, Resident
from backend.models.ledger import Redemption
from backend.points.ledger import balance, debit, lock

CODE_ALPHABET = "ACDEFGHJKMNPQRTUVWXY3479"  # no 0/O, 1/I/L, 2/Z, 5/S, 6/B, 8: read aloud at a counter


class OutOfStock(DomainError):
    """The item is gone."""


class Retired(DomainError):
    """The item has been taken off the shelf (下架): it is not offered any more."""


def _retired(item: CatalogueItem) -> Retired:
    return Retired(f"抱歉，{item.name}已经下架，社区不再提供了；您的积分没有扣。可以问我“能换什么”看看别的。")


@dataclass(frozen=True)
class Offer:
    """One catalogue item as the resident sees it."""

    code: str
    name: str
    cost: int
    stock: int
    affordable: bool


def catalogue(*, session: Session, resident: Resident) -> list[Offer]:
    """The items the resident's community offers (not retired), cheapest first, marked affordable or not."""
    if resident.community_id is None:
        return []
    have = balance(session=session, resident=resident)
    items = session.scalars(
        select(CatalogueItem)
        .filter_by(community_id=resident.community_id, retired_at=None)
        .order_by(CatalogueItem.cost, CatalogueItem.id)
    )
    return [
        Offer(
            code=str(i.code),
            name=str(i.name),
            cost=int(i.cost),
            stock=int(i.stock),
            affordable=i.cost <= have and i.stock > 0,
        )
        for i in items
    ]


def _common_run(a: str, b: str) -> int:
    """Length of the longest run of characters ``a`` and ``b`` share."""
    best = 0
    for i in range(len(a)):
        for j in range(i + 1, len(a) + 1):
            if a[i:j] in b:
                best = max(best, j - i)
    return best


def find_item(*, session: Session, resident: Resident, text: str) -> CatalogueItem | None:
    """The offered (not retired) catalogue item a resident names, or None.

    Residents say it their way: 换一袋大米 → 大米（5斤）, 换桶油 → 食用油（1升）.
    The item sharing the longest run of characters with the message wins;
    a single shared character counts only when it is the item's head noun
    (the last character of its name, as 油 in 食用油).
    """
    if resident.community_id is None:
        return None
    items = list(session.scalars(select(CatalogueItem).filter_by(community_id=resident.community_id, retired_at=None)))
    scored = []
    for item in items:
        if item.code == text.strip():
            return item
        core = str(item.name).split("（")[0]
        run = _common_run(core, text)
        if run >= 2 or (run == 1 and core[-1] in text):
            scored.append((run, item))
    if not scored:
        return None
    scored.sort(key=lambda pair: -pair[0])
    if len(scored) > 1 and scored[0][0] == scored[1][0]:
        return None  # two items fit equally well: ask which
    return scored[0][1]


def _new_code(session: Session) -> str:
    while True:
        code = "DH" + "".join(secrets.choice(CODE_ALPHABET) for _ in range(6))
        if session.scalars(select(Redemption.id).filter_by(code=code)).first() is None:
            return code


def redeem(*, session: Session, resident: Resident, item_code: str, now: datetime) -> Redemption:
    """Take the item's cost in points and one item of stock; return the redemption with its code.

    Raises:
        InvalidInput: the resident has no community (no 爱心超市 to go to).
        NotFound: no such item in the community's catalogue.
        Retired: the item has been taken off the shelf (nothing changes).
        NotEnoughPoints: not enough points (nothing changes).
        OutOfStock: the last one is gone (nothing changes).

    "Nothing changes" once the caller rolls the transaction back, as every
    caller does on an exception (the debit may already have been written).
    """
    if resident.community_id is None:
        raise InvalidInput(
            "还不知道您属于哪个社区：参加社区活动时让网格员记录，"
            "或者在小区里登记过工单的，问我“能换什么”时同意登记为那个社区的居民。"
        )
    lock(session=session, resident=resident)  # first, so every read below is under the lock
    item = session.scalars(select(CatalogueItem).filter_by(community_id=resident.community_id, code=item_code)).first()
    if item is None:
        raise NotFound("爱心超市里没有这件物品。")
    if item.retired_at is not None:
        raise _retired(item)
    code = _new_code(session)
    entry = debit(
        session=session,
        resident=resident,
        amount=int(item.cost),
        reason=f"爱心超市兑换 {item.name}（兑换码 {code}）",
        source_kind="redemption",
        source_ref=code,
        actor=f"resident:{resident.code}",
        now=now,
    )
    taken = session.execute(
        update(CatalogueItem)
        .where(CatalogueItem.id == item.id, CatalogueItem.stock > 0, CatalogueItem.retired_at.is_(None))
        .values(stock=CatalogueItem.stock - 1)
        .execution_options(synchronize_session=False)
    )
    session.refresh(item)  # a fresh read: a retirement that won the race is seen here
    if taken.rowcount != 1:
        raise _retired(item) if item.retired_at is not None else OutOfStock(f"{item.name}已经换完了，可以看看别的。")
    redemption = Redemption(
        code=code, resident_id=resident.id, item_id=item.id, cost=int(item.cost), entry_id=entry.id, created_at=now
    )
    session.add(redemption)
    session.flush()
    return redemption


def retire(*, session: Session, item: CatalogueItem, now: datetime) -> bool:
    """Take the item off the shelf (下架); False when it already was off (nothing changes then).

    Its stock, its past redemptions and their ledger entries stay as they are.
    """
    return _set_retired(session, item, now)


def restore(*, session: Session, item: CatalogueItem) -> bool:
    """Put a retired item back on the shelf (恢复上架); False when it was not retired (nothing changes)."""
    return _set_retired(session, item, None)


def _set_retired(session: Session, item: CatalogueItem, retired_at: datetime | None) -> bool:
    """Move the item on or off the shelf in one conditional UPDATE; whether it moved."""
    is_in_other_state = CatalogueItem.retired_at.is_(None) if retired_at else CatalogueItem.retired_at.is_not(None)
    done = session.execute(
        update(CatalogueItem)
        .where(CatalogueItem.id == item.id, is_in_other_state)
        .values(retired_at=retired_at)
        .execution_options(synchronize_session=False)
    )
    session.refresh(item)
    return done.rowcount == 1
