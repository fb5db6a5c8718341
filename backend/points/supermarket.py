"""The 爱心超市: what a resident can afford, and redeeming an item for a code to show at the counter.

Redeeming takes the points and one item of stock in one transaction: the
stock goes down only through ``stock = stock - 1 WHERE stock > 0`` (and a
CHECK keeps it from going below zero), so two residents racing for the
last item cannot both get it; the points go through the ledger's debit,
which cannot overspend.
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


@dataclass(frozen=True)
class Offer:
    """One catalogue item as the resident sees it."""

    code: str
    name: str
    cost: int
    stock: int
    affordable: bool


def catalogue(*, session: Session, resident: Resident) -> list[Offer]:
    """The items of the resident's community, cheapest first, marked affordable or not."""
    if resident.community_id is None:
        return []
    have = balance(session=session, resident=resident)
    items = session.scalars(
        select(CatalogueItem)
        .filter_by(community_id=resident.community_id)
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
    """The catalogue item a resident names, or None.

    Residents say it their way: 换一袋大米 → 大米（5斤）, 换桶油 → 食用油（1升）.
    The item sharing the longest run of characters with the message wins;
    a single shared character counts only when it is the item's head noun
    (the last character of its name, as 油 in 食用油).
    """
    if resident.community_id is None:
        return None
    items = list(session.scalars(select(CatalogueItem).filter_by(community_id=resident.community_id)))
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
        NotEnoughPoints: not enough points (nothing changes).
        OutOfStock: the last one is gone (nothing changes).
    """
    if resident.community_id is None:
        raise InvalidInput("还不知道您属于哪个社区：请先通过网格员登记，或在登记工单时说明住址。")
    lock(session=session, resident=resident)  # first, so every read below is under the lock
    item = session.scalars(select(CatalogueItem).filter_by(community_id=resident.community_id, code=item_code)).first()
    if item is None:
        raise NotFound("爱心超市里没有这件物品。")
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
        .where(CatalogueItem.id == item.id, CatalogueItem.stock > 0)
        .values(stock=CatalogueItem.stock - 1)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:
        raise OutOfStock(f"{item.name}已经换完了，可以看看别的。")
    session.refresh(item)
    redemption = Redemption(
        code=code, resident_id=resident.id, item_id=item.id, cost=int(item.cost), entry_id=entry.id, created_at=now
    )
    session.add(redemption)
    session.flush()
    return redemption
