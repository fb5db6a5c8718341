"""The points ledger: award, adjust and spend, with the session passed in.

Expiry is :mod:`backend.points.expiry`; reading a resident's entries back is
:mod:`backend.points.statement`; both build on this module.

Invariants, checked by property-based tests:

- the balance is the sum of the resident's entries, and never below zero;
- an award for the same source event is credited once (the database's
  unique ``idempotency_key``; a concurrent duplicate loses at the insert);
- monthly caps per rule hold (an award that would pass the cap is cut to
  what is left, and refused when nothing is left);
- expiry (points older than N months) is an explicit negative entry, so the
  resident can be told when and why points went away.

Months are the district's months (Asia/Shanghai).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.categories import DISTRICT_TZ
from backend.errors import DomainError, InvalidInput, NotFound
from backend.models import PointsRule, Resident
from backend.models.ledger import PointsAccount, PointsEntry

Role = Literal["system", "grid_member", "admin"]
SOURCES = ("ticket", "rating", "volunteer", "activity", "redemption", "adjustment", "expiry")


class CapReached(DomainError):
    """The rule's monthly cap is used up for this resident."""


class NotEnoughPoints(DomainError):
    """A spend or a negative adjustment larger than the balance."""


@dataclass(frozen=True)
class Award:
    """What an award did: the entry (new or the earlier one), and whether it was cut by the cap."""

    entry: PointsEntry
    duplicate: bool
    capped: bool


def month_start(now: datetime) -> datetime:
    """The first instant of ``now``'s month in the district."""
    local = now.astimezone(DISTRICT_TZ)
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def balance(*, session: Session, resident: Resident) -> int:
    """The resident's points: the sum of their ledger."""
    return int(
        session.scalar(select(func.coalesce(func.sum(PointsEntry.amount), 0)).filter_by(resident_id=resident.id))
    )


def lock(*, session: Session, resident: Resident) -> None:
    """Serialise this resident's ledger writes until the transaction ends.

    The UPDATE takes SQLite's write lock or PostgreSQL's row lock; a balance
    read after it is the one the write will be checked against.
    """
    bumped = session.execute(
        update(PointsAccount)
        .where(PointsAccount.resident_id == resident.id)
        .values(writes=PointsAccount.writes + 1)
        .execution_options(synchronize_session=False)
    )
    if bumped.rowcount == 1:
        return
    try:
        with session.begin_nested():
            session.add(PointsAccount(resident_id=resident.id, writes=1))
    except IntegrityError:  # another writer created it first: take the lock through it
        session.execute(
            update(PointsAccount)
            .where(PointsAccount.resident_id == resident.id)
            .values(writes=PointsAccount.writes + 1)
            .execution_options(synchronize_session=False)
        )


def _existing(session: Session, key: str) -> PointsEntry | None:
    return session.scalars(select(PointsEntry).filter_by(idempotency_key=key)).first()


def insert_once(session: Session, entry: PointsEntry) -> tuple[PointsEntry, bool]:
    """Insert, or return the entry already recorded under the same key (and True)."""
    try:
        with session.begin_nested():
            session.add(entry)
            session.flush()
    except IntegrityError:
        earlier = _existing(session, str(entry.idempotency_key))
        if earlier is None:
            raise
        return earlier, True
    return entry, False


def used_this_month(*, session: Session, resident: Resident, rule_code: str, now: datetime) -> int:
    """Points the resident already got from a rule this month."""
    return int(
        session.scalar(
            select(func.coalesce(func.sum(PointsEntry.amount), 0)).where(
                PointsEntry.resident_id == resident.id,
                PointsEntry.rule_code == rule_code,
                PointsEntry.amount > 0,
                PointsEntry.created_at >= month_start(now),
            )
        )
    )


def award(
    *,
    session: Session,
    resident: Resident,
    rule_code: str,
    source_kind: str,
    source_ref: str,
    actor: str,
    role: Role,
    now: datetime,
    quantity: int = 1,
    reason: str | None = None,
) -> Award:
    """Credit a rule's points for one source event (once), within the monthly cap.

    Raises:
        NotFound: unknown rule.
        InvalidInput: the role may not award this rule, or a bad quantity / source.
        CapReached: nothing is left of this month's cap.
    """
    rule = session.scalars(select(PointsRule).filter_by(code=rule_code)).first()
    if rule is None or rule.points <= 0:
        raise NotFound(f"没有这条积分规则：{rule_code}")
    if role != "admin" and rule.awarded_by != role:
        raise InvalidInput(f"“{rule.name}”积分只能由{_ROLE_NAMES[str(rule.awarded_by)]}记录。")
    if source_kind not in SOURCES or not source_ref:
        raise InvalidInput(f"积分来源不对：{source_kind}")
    if not 1 <= quantity <= 24:
        raise InvalidInput("数量要在 1 到 24 之间。")
    key = f"{rule_code}:{source_kind}:{source_ref}"
    lock(session=session, resident=resident)
    earlier = _existing(session, key)
    if earlier is not None:
        return Award(entry=earlier, duplicate=True, capped=False)
    wanted = int(rule.points) * quantity
    amount = wanted
    if rule.monthly_cap is not None:
        left = int(rule.monthly_cap) - used_this_month(session=session, resident=resident, rule_code=rule_code, now=now)
        if left <= 0:
            raise CapReached(f"本月“{rule.name}”积分已达上限 {rule.monthly_cap} 分，下个月再来。")
        amount = min(wanted, left)
    text = reason or str(rule.name) + (f" × {quantity}" if quantity > 1 else "")
    if amount < wanted:
        text += f"（本月上限 {rule.monthly_cap} 分，只计 {amount} 分）"
    entry, duplicate = insert_once(
        session,
        PointsEntry(
            resident_id=resident.id,
            amount=amount,
            rule_code=rule_code,
            reason=text,
            source_kind=source_kind,
            source_ref=source_ref,
            idempotency_key=key,
            actor=actor,
            rules_version=int(rule.version or 1),
            created_at=now,
        ),
    )
    return Award(entry=entry, duplicate=duplicate, capped=amount < wanted and not duplicate)


_ROLE_NAMES = {"system": "系统", "grid_member": "网格员", "admin": "管理员"}


def debit(
    *,
    session: Session,
    resident: Resident,
    amount: int,
    reason: str,
    source_kind: str,
    source_ref: str,
    actor: str,
    now: datetime,
) -> PointsEntry:
    """Take points away (a redemption, a negative adjustment), never below zero.

    Raises:
        NotEnoughPoints: the balance is smaller than ``amount``.
    """
    if amount <= 0:
        raise InvalidInput("扣减的分数必须大于 0。")
    lock(session=session, resident=resident)
    have = balance(session=session, resident=resident)
    if have < amount:
        raise NotEnoughPoints(f"积分不够：需要 {amount} 分，现在有 {have} 分。")
    entry, _ = insert_once(
        session,
        PointsEntry(
            resident_id=resident.id,
            amount=-amount,
            rule_code=None,
            reason=reason,
            source_kind=source_kind,
            source_ref=source_ref,
            idempotency_key=f"{source_kind}:{source_ref}",
            actor=actor,
            created_at=now,
        ),
    )
    return entry


def adjust(
    *, session: Session, resident: Resident, amount: int, reason: str, actor: str, ref: str, now: datetime
) -> PointsEntry:
    """An admin's correction, with a mandatory reason; ``ref`` makes a retried request count once.

    Raises:
        InvalidInput: no reason, or zero.
        NotEnoughPoints: a deduction larger than the balance.
    """
    reason = reason.strip()
    if not reason:
        raise InvalidInput("人工调整必须写明原因。")
    if amount == 0 or abs(amount) > 10_000:
        raise InvalidInput("调整的分数不能为 0，也不能超过 10000。")
    text = f"人工调整：{reason}"
    if amount < 0:
        return debit(
            session=session,
            resident=resident,
            amount=-amount,
            reason=text,
            source_kind="adjustment",
            source_ref=ref,
            actor=actor,
            now=now,
        )
    lock(session=session, resident=resident)
    entry, _ = insert_once(
        session,
        PointsEntry(
            resident_id=resident.id,
            amount=amount,
            rule_code="adjustment",
            reason=text,
            source_kind="adjustment",
            source_ref=ref,
            idempotency_key=f"adjustment:{ref}",
            actor=actor,
            created_at=now,
        ),
    )
    return entry
