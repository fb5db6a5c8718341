"""The resident's points statement: the latest ledger entries, and the entry behind a change they ask about.

The chat's points answers and the console read entries through here (为什么少了20分 → the −20 entry).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.models import Resident
from backend.models.ledger import PointsEntry


def history(*, session: Session, resident: Resident, limit: int = 10) -> list[PointsEntry]:
    """The resident's latest entries, newest first."""
    return list(
        session.scalars(
            select(PointsEntry)
            .filter_by(resident_id=resident.id)
            .order_by(PointsEntry.created_at.desc(), PointsEntry.id.desc())
            .limit(limit)
        )
    )


def entry_for_change(*, session: Session, resident: Resident, amount: int) -> PointsEntry | None:
    """The latest entry of exactly ``amount`` (为什么少了20分 → the −20 entry), if any."""
    return session.scalars(
        select(PointsEntry)
        .filter_by(resident_id=resident.id, amount=amount)
        .order_by(PointsEntry.created_at.desc(), PointsEntry.id.desc())
        .limit(1)
    ).first()
