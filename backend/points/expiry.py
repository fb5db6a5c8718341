"""Points expiry: what is left of points older than N months goes away as one explicit negative entry.

The entry tells the resident when and why points went away; run again in the
same month, it adds nothing (its idempotency key is the resident and the month).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.categories import DISTRICT_TZ
from backend.models import Resident
from backend.models.ledger import PointsEntry
from backend.points.ledger import insert_once, lock


def expire(*, session: Session, resident: Resident, now: datetime, months: int = 12) -> PointsEntry | None:
    """Expire what is left of points earned more than ``months`` months ago, as one entry.

    Spending uses the oldest points first, so what is left of the old points
    is what they earned before the cutoff minus everything ever taken away.
    Run again in the same month, it adds nothing.
    """
    local = now.astimezone(DISTRICT_TZ)
    total = local.year * 12 + local.month - 1 - months
    cutoff = local.replace(year=total // 12, month=total % 12 + 1, day=1, hour=0, minute=0, second=0, microsecond=0)
    lock(session=session, resident=resident)
    earned_before = int(
        session.scalar(
            select(func.coalesce(func.sum(PointsEntry.amount), 0)).where(
                PointsEntry.resident_id == resident.id, PointsEntry.amount > 0, PointsEntry.created_at < cutoff
            )
        )
    )
    taken = -int(
        session.scalar(
            select(func.coalesce(func.sum(PointsEntry.amount), 0)).where(
                PointsEntry.resident_id == resident.id, PointsEntry.amount < 0
            )
        )
    )
    left = earned_before - taken
    if left <= 0:
        return None
    entry, duplicate = insert_once(
        session,
        PointsEntry(
            resident_id=resident.id,
            amount=-left,
            rule_code=None,
            reason=f"{cutoff.year}年{cutoff.month}月以前获得、满 {months} 个月未使用的积分到期",
            source_kind="expiry",
            source_ref=f"{local:%Y-%m}",
            idempotency_key=f"expiry:{resident.id}:{local:%Y-%m}",
            actor="system",
            created_at=now,
        ),
    )
    return None if duplicate else entry
