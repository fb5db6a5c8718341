"""评单: the resident rates a resolved ticket; 不满意 sends it back up the chain; silence closes it.

- 满意 / 基本满意 close the ticket (已评价) and earn the rating points.
- 不满意 reopens it (重新办理) and escalates it one level (网格 → 社区 → 街道
  → 职能部门), on the timeline like every other move.
- No answer within the configured days (3 by default) closes it as 默认满意.

Only the resident who filed a ticket rates it. Satisfaction rates per
community, per category and per month are public figures (结果公示).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.categories import DISTRICT_TZ, default_table
from backend.errors import InvalidInput, NotFound
from backend.models import Community, Resident, Ticket
from backend.points.earning import award_rating
from backend.points.ledger import CapReached
from backend.tickets.escalation import escalate
from backend.tickets.ratings import RATINGS
from backend.tickets.service import transition


@dataclass(frozen=True)
class Rated:
    """What a rating did."""

    ticket: Ticket
    rating: str
    escalated_to: str | None
    points: int


def awaiting_rating(*, session: Session, resident: Resident) -> Ticket | None:
    """The resident's latest resolved ticket that has no rating yet."""
    return session.scalars(
        select(Ticket)
        .where(Ticket.resident_id == resident.id, Ticket.status == "resolved", Ticket.satisfaction.is_(None))
        .order_by(Ticket.resolved_at.desc(), Ticket.id.desc())
        .limit(1)
    ).first()


def rate_ticket(
    *, session: Session, ticket: Ticket, resident: Resident, rating: str, now: datetime, comment: str | None = None
) -> Rated:
    """Record the resident's rating and act on it.

    Raises:
        NotFound: not the resident's ticket (the same answer as a missing one).
        InvalidInput: not waiting for a rating, or an unknown rating.
    """
    if ticket.resident_id != resident.id:
        raise NotFound("没有找到您名下的这张工单。")
    if rating not in ("satisfied", "basically", "unsatisfied"):
        raise InvalidInput("请选择：满意、基本满意或不满意。")
    if ticket.status != "resolved" or ticket.satisfaction is not None:
        raise InvalidInput(f"工单 {ticket.number} 现在不需要评价。")
    ticket.satisfaction = rating
    ticket.satisfaction_comment = (comment or "").strip()[:500] or None
    ticket.rated_at = now
    note = f"居民评价：{RATINGS[rating]}" + (
        f"。意见：{ticket.satisfaction_comment}" if ticket.satisfaction_comment else ""
    )
    actor = f"resident:{resident.code}"
    if rating == "unsatisfied":
        transition(session=session, ticket=ticket, to="reopened", actor=actor, now=now, note=note)
        level = escalate(session=session, ticket=ticket, actor="system", why="居民不满意，重新办理", now=now)
        return Rated(ticket=ticket, rating=rating, escalated_to=level, points=0)
    transition(session=session, ticket=ticket, to="closed", actor=actor, now=now, note=note)
    try:
        points = int(award_rating(session=session, ticket=ticket, now=now).entry.amount)
    except (CapReached, NotFound):  # this month's rating points used up, or no rating rule configured
        points = 0
    return Rated(ticket=ticket, rating=rating, escalated_to=None, points=points)


def close_unrated(*, session: Session, now: datetime, days: int = 3) -> list[str]:
    """Close tickets resolved more than ``days`` ago without a rating, as 默认满意; their numbers."""
    due = session.scalars(
        select(Ticket).where(
            Ticket.status == "resolved",
            Ticket.satisfaction.is_(None),
            Ticket.resolved_at <= now - timedelta(days=days),
        )
    ).all()
    for ticket in due:
        ticket.satisfaction = "default"
        ticket.rated_at = now
        transition(
            session=session, ticket=ticket, to="closed", actor="system", now=now, note=f"{days} 天未评价，默认满意"
        )
    return [str(t.number) for t in due]


@dataclass(frozen=True)
class Rate:
    """A satisfaction rate for one group: (满意 + 基本满意 + 默认满意) / rated."""

    group: str
    rated: int
    satisfied: int
    code: str = ""  # the community or category code, or the month (YYYY-MM); "" for no community

    @property
    def rate(self) -> float:
        """The share of rated tickets that were not 不满意."""
        return round(self.satisfied / self.rated, 4) if self.rated else 0.0


def satisfaction_rates(
    *,
    session: Session,
    by: str,
    community_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[Rate]:
    """Satisfaction per ``community``, ``category`` or ``month`` (district months), over rated tickets.

    ``community_id`` keeps one community's tickets; ``since`` / ``until``
    keep tickets rated in [since, until) (the console's date range).
    """
    if by not in ("community", "category", "month"):
        raise InvalidInput("只能按 community、category 或 month 统计。")
    query = select(Ticket.community_id, Ticket.category, Ticket.rated_at, Ticket.satisfaction).where(
        Ticket.satisfaction.is_not(None)
    )
    if community_id is not None:
        query = query.where(Ticket.community_id == community_id)
    if since is not None:
        query = query.where(Ticket.rated_at >= since)
    if until is not None:
        query = query.where(Ticket.rated_at < until)
    communities = {c.id: (str(c.name), str(c.code)) for c in session.scalars(select(Community))}
    table = default_table()
    groups: dict[tuple[str, str], list[int]] = {}
    for ticket_community, category, rated_at, satisfaction in session.execute(query):
        if by == "community":
            key = communities.get(ticket_community, ("未定位", ""))
        elif by == "category":
            name = table.categories[category].name if category in table.categories else str(category)
            key = (name, str(category))
        else:
            month = f"{rated_at.astimezone(DISTRICT_TZ):%Y-%m}"
            key = (month, month)
        counts = groups.setdefault(key, [0, 0])
        counts[0] += 1
        counts[1] += 0 if satisfaction == "unsatisfied" else 1
    return [Rate(group=g, rated=c[0], satisfied=c[1], code=code) for (g, code), c in sorted(groups.items())]
