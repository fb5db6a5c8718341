"""On-time figures (按时办结率): how many tickets were resolved by their deadline, per tier or community.

A ticket counts once it is due or done: resolved (or closed) by its
deadline is on time; resolved after it, or still open past it, is late.
Tickets still open and not yet due are left out: nobody can say yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from backend.categories import default_table
from backend.errors import InvalidInput
from backend.models import Community, Ticket
from backend.tickets.lifecycle import OPEN_STATUSES


@dataclass(frozen=True)
class OnTime:
    """One group's counts and rate."""

    group: str
    counted: int
    on_time: int
    code: str = ""  # the tier's or community's code ("" for tickets not placed in a community)

    @property
    def rate(self) -> float:
        """Share resolved by the deadline."""
        return round(self.on_time / self.counted, 4) if self.counted else 0.0


def on_time_rates(
    *,
    session: Session,
    by: str,
    now: datetime,
    community_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[OnTime]:
    """On-time rates grouped ``by`` ``tier`` or ``community``.

    ``community_id`` keeps one community's tickets; ``since`` / ``until``
    keep tickets filed in [since, until) (the console's date range).
    """
    if by not in ("tier", "community"):
        raise InvalidInput("只能按 tier 或 community 统计。")
    communities = {c.id: (str(c.name), str(c.code)) for c in session.scalars(select(Community))}
    tiers = default_table().tier_names
    groups: dict[tuple[str, str], list[int]] = {}
    # Only tickets that are done or due can count, and only the columns the count needs.
    countable = select(Ticket.status, Ticket.resolved_at, Ticket.deadline, Ticket.tier, Ticket.community_id).where(
        Ticket.status != "guidance", or_(Ticket.resolved_at.is_not(None), Ticket.deadline < now)
    )
    if community_id is not None:
        countable = countable.where(Ticket.community_id == community_id)
    if since is not None:
        countable = countable.where(Ticket.created_at >= since)
    if until is not None:
        countable = countable.where(Ticket.created_at < until)
    for status, resolved_at, deadline, tier, ticket_community in session.execute(countable):
        if resolved_at is not None and status not in OPEN_STATUSES:
            on_time = resolved_at <= deadline
        elif deadline < now:
            on_time = False
        else:
            continue
        if by == "tier":
            key = (tiers.get(str(tier), str(tier)), str(tier))
        else:
            key = communities.get(ticket_community, ("未定位", ""))
        counts = groups.setdefault(key, [0, 0])
        counts[0] += 1
        counts[1] += int(on_time)
    return [OnTime(group=g, counted=c[0], on_time=c[1], code=code) for (g, code), c in sorted(groups.items())]
