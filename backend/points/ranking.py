"""The monthly ranking (一月一评比): points earned per community in a month, names masked.

Only points earned by taking part count (awards; not adjustments, spending
or expiry), so redeeming at the 爱心超市 never costs anyone their place and
an admin's correction does not move anyone up. The top three of a community
are that month's 积分之星. Names are masked the way a notice board shows
them (周**); a resident without a name shows as their resident code, masked.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from backend.categories import DISTRICT_TZ
from backend.models import Resident
from backend.models.ledger import PointsEntry

STARS = 3
STAR_TITLE = "本月积分之星"


@dataclass(frozen=True)
class Rank:
    """One line of the ranking."""

    rank: int
    resident_id: int
    shown_name: str
    points: int


def masked_name(resident: Resident) -> str:
    """周大爷 → 周**; no name → R1A****."""
    if resident.name:
        name = str(resident.name)
        return name[0] + "*" * max(1, len(name) - 1)
    code = str(resident.code)
    return code[:3] + "*" * max(1, len(code) - 3)


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """'2026-11' → the month's first instant and the next month's, in the district's time."""
    year, number = (int(part) for part in month.split("-"))
    start = datetime(year, number, 1, tzinfo=DISTRICT_TZ)
    end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=DISTRICT_TZ)
    return start, end


def this_month(now: datetime) -> str:
    """'2026-11' for ``now`` in the district."""
    return f"{now.astimezone(DISTRICT_TZ):%Y-%m}"


def _earned_in_month(community_id: int, month: str) -> Select:
    """Per resident of the community: points earned by taking part in the month (the ranking's measure)."""
    start, end = month_bounds(month)
    return (
        select(PointsEntry.resident_id.label("resident_id"), func.sum(PointsEntry.amount).label("earned"))
        .join(Resident, PointsEntry.resident_id == Resident.id)
        .where(
            Resident.community_id == community_id,
            PointsEntry.amount > 0,
            PointsEntry.source_kind != "adjustment",
            PointsEntry.created_at >= start,
            PointsEntry.created_at < end,
        )
        .group_by(PointsEntry.resident_id)
    )


def monthly_ranking(*, session: Session, community_id: int, month: str) -> list[Rank]:
    """Residents of a community by points earned in the month; equal points share a rank."""
    earned = _earned_in_month(community_id, month).subquery()
    rows = session.execute(
        select(Resident, earned.c.earned)
        .join(earned, earned.c.resident_id == Resident.id)
        .order_by(earned.c.earned.desc(), Resident.id)
    ).all()
    ranking: list[Rank] = []
    for position, (resident, points) in enumerate(rows, start=1):
        shared = ranking[-1].rank if ranking and ranking[-1].points == int(points) else position
        ranking.append(Rank(rank=shared, resident_id=resident.id, shown_name=masked_name(resident), points=int(points)))
    return ranking


def rank_of(*, session: Session, resident: Resident, month: str) -> Rank | None:
    """The resident's line in their community's ranking, or None (no community, nothing earned).

    The same line :func:`monthly_ranking` gives them, from two aggregates
    instead of the whole ranking: the resident's own sum, then how many
    earned more (equal points share a rank, so the rank is one more than
    that). A balance question then costs the same in a community of fifty
    residents or of five thousand.
    """
    if resident.community_id is None:
        return None
    earned = _earned_in_month(int(resident.community_id), month)
    mine = session.execute(earned.where(PointsEntry.resident_id == resident.id)).one_or_none()
    if mine is None:
        return None
    points = int(mine.earned)
    ahead = session.scalar(
        select(func.count()).select_from(earned.having(func.sum(PointsEntry.amount) > points).subquery())
    )
    return Rank(rank=int(ahead or 0) + 1, resident_id=resident.id, shown_name=masked_name(resident), points=points)


def title_of(rank: Rank | None) -> str | None:
    """The month's star title for the top three."""
    return STAR_TITLE if rank is not None and rank.rank <= STARS else None


def ranking_csv(ranking: list[Rank]) -> str:
    """The ranking as CSV for the notice board (masked names only)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["名次", "居民", "本月积分", "称号"])
    for line in ranking:
        writer.writerow([line.rank, line.shown_name, line.points, title_of(line) or ""])
    return out.getvalue()
