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


def monthly_ranking(*, session: Session, community_id: int, month: str) -> list[Rank]:
    """Residents of a community by points earned in the month; equal points share a rank."""
    start, end = month_bounds(month)
    earned = func.sum(PointsEntry.amount).label("earned")
    rows = session.execute(
        select(Resident, earned)
        .join(PointsEntry, PointsEntry.resident_id == Resident.id)
        .where(
            Resident.community_id == community_id,
            PointsEntry.amount > 0,
            PointsEntry.source_kind != "adjustment",
            PointsEntry.created_at >= start,
            PointsEntry.created_at < end,
        )
        .group_by(Resident.id)
        .order_by(earned.desc(), Resident.id)
    ).all()
    ranking: list[Rank] = []
    for position, (resident, points) in enumerate(rows, start=1):
        shared = ranking[-1].rank if ranking and ranking[-1].points == int(points) else position
        ranking.append(Rank(rank=shared, resident_id=resident.id, shown_name=masked_name(resident), points=int(points)))
    return ranking


def rank_of(*, session: Session, resident: Resident, month: str) -> Rank | None:
    """The resident's line in their community's ranking, or None (no community, nothing earned)."""
    if resident.community_id is None:
        return None
    for line in monthly_ranking(session=session, community_id=int(resident.community_id), month=month):
        if line.resident_id == resident.id:
            return line
    return None


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
