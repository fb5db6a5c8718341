"""The console's statistics: tickets per week, on-time and satisfaction rates, points per month.

A street office reads these figures for a period and, for a community's
staff, for their own community only, so every query takes a
:class:`Period` and a community (``None`` for the whole street). Weeks
(Monday to Sunday) and months are the district's (Asia/Shanghai), like
every date a resident sees. Only the needed columns are selected, and
rows are grouped in Python, because SQLite and PostgreSQL disagree on
date functions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from backend.categories import DISTRICT_TZ, MATTERS, TIERS, default_table
from backend.dates import local
from backend.models import Resident, Ticket
from backend.models.ledger import PointsEntry
from backend.tickets.satisfaction import Rate, satisfaction_rates
from backend.tickets.timeliness import OnTime, on_time_rates

MAX_DAYS = 731  # two years: enough to compare a year with the one before


@dataclass(frozen=True)
class Period:
    """Whole district days from ``first`` to ``last``, both included."""

    first: date
    last: date

    @property
    def since(self) -> datetime:
        """The period's first instant."""
        return datetime.combine(self.first, time(0), tzinfo=DISTRICT_TZ)

    @property
    def until(self) -> datetime:
        """The first instant after the period."""
        return datetime.combine(self.last + timedelta(days=1), time(0), tzinfo=DISTRICT_TZ)

    def weeks(self) -> list[date]:
        """The Mondays of the weeks the period touches, oldest first."""
        monday = self.first - timedelta(days=self.first.weekday())
        out = []
        while monday <= self.last:
            out.append(monday)
            monday += timedelta(days=7)
        return out

    def months(self) -> list[str]:
        """The months (YYYY-MM) the period touches, oldest first."""
        out = []
        year, month = self.first.year, self.first.month
        while (year, month) <= (self.last.year, self.last.month):
            out.append(f"{year:04d}-{month:02d}")
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return out


def last_weeks(today: date, count: int = 12) -> Period:
    """The last ``count`` weeks up to ``today``, this week included (the default for weekly figures)."""
    monday = today - timedelta(days=today.weekday())
    return Period(first=monday - timedelta(weeks=count - 1), last=today)


def last_months(today: date, count: int = 12) -> Period:
    """The last ``count`` months up to ``today``, this month included (the default for the rest)."""
    total = today.year * 12 + today.month - 1 - (count - 1)
    return Period(first=date(total // 12, total % 12 + 1, 1), last=today)


@dataclass(frozen=True)
class Counts:
    """Counts per row (a week or a month) and per series (a matter, a category, a kind of points)."""

    rows: list[str]  # row keys: a week's Monday (YYYY-MM-DD) or a month (YYYY-MM)
    series: list[str]  # series codes, in the order to draw them
    values: dict[str, dict[str, int]]  # row → series → count

    def total(self, series: str) -> int:
        """One series over all rows."""
        return sum(self.values[row][series] for row in self.rows)

    @property
    def empty(self) -> bool:
        """Whether every count is zero."""
        return not any(v for row in self.values.values() for v in row.values())


def tickets_per_week(*, session: Session, period: Period, by: str, community_id: int | None) -> Counts:
    """Tickets filed per week, per ``matter`` or ``category`` (all 21 categories, in the table's order).

    Every ticket counts, including private matters answered with guidance:
    this is how many times residents asked.
    """
    table = default_table()
    series = list(MATTERS) if by == "matter" else list(table.categories)
    column = Ticket.matter if by == "matter" else Ticket.category
    query = select(Ticket.created_at, column).where(Ticket.created_at >= period.since, Ticket.created_at < period.until)
    if community_id is not None:
        query = query.where(Ticket.community_id == community_id)
    rows = [monday.isoformat() for monday in period.weeks()]
    values = {row: dict.fromkeys(series, 0) for row in rows}
    for created_at, code in session.execute(query):
        day = local(created_at).date()
        week = (day - timedelta(days=day.weekday())).isoformat()
        if week in values and code in values[week]:
            values[week][code] += 1
    return Counts(rows=rows, series=series, values=values)


def points_per_month(*, session: Session, period: Period, community_id: int | None) -> Counts:
    """Points awarded (every positive entry) and redeemed at the 爱心超市 (redemption entries) per month.

    Expiries and negative adjustments are neither. A community's figures
    are those of the residents who belong to it now.
    """
    query = select(PointsEntry.created_at, PointsEntry.amount, PointsEntry.source_kind).where(
        PointsEntry.created_at >= period.since,
        PointsEntry.created_at < period.until,
        or_(PointsEntry.amount > 0, PointsEntry.source_kind == "redemption"),
    )
    if community_id is not None:
        query = query.join(Resident, Resident.id == PointsEntry.resident_id).where(
            Resident.community_id == community_id
        )
    series = ["awarded", "redeemed"]
    rows = period.months()
    values = {row: dict.fromkeys(series, 0) for row in rows}
    for created_at, amount, source_kind in session.execute(query):
        month = f"{local(created_at):%Y-%m}"
        if month not in values:
            continue
        if source_kind == "redemption":
            values[month]["redeemed"] += -int(amount)
        else:
            values[month]["awarded"] += int(amount)
    return Counts(rows=rows, series=series, values=values)


def on_time(*, session: Session, period: Period, by: str, community_id: int | None, now: datetime) -> list[OnTime]:
    """On-time rates of the tickets filed in the period, per ``tier`` (fastest first) or ``community``."""
    rates = on_time_rates(
        session=session, by=by, now=now, community_id=community_id, since=period.since, until=period.until
    )
    if by == "tier":
        rates.sort(key=lambda r: TIERS.index(r.code) if r.code in TIERS else len(TIERS))
    return rates


def satisfaction(*, session: Session, period: Period, by: str, community_id: int | None) -> list[Rate]:
    """Satisfaction rates of the tickets rated in the period, per ``community``, ``category`` or ``month``."""
    return satisfaction_rates(session=session, by=by, community_id=community_id, since=period.since, until=period.until)
