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

    @property
    def rate(self) -> float:
        """Share resolved by the deadline."""
        return round(self.on_time / self.counted, 4) if self.counted else 0.0


def on_time_rates(*, session: Session, by: str, now: datetime) -> list[OnTime]:
    """On-time rates grouped ``by`` ``tier`` or ``community``."""
    if by not in ("tier", "community"):
        raise InvalidInput("只能按 tier 或 community 统计。")
    names = {c.id: str(c.name) for c in session.scalars(select(Community))}
    tiers = default_table().tier_names
    groups: dict[str, list[int]] = {}
    # Only tickets that are done or due can count: leave the rest in the database.
    countable = select(Ticket).where(
        Ticket.status != "guidance", or_(Ticket.resolved_at.is_not(None), Ticket.deadline < now)
    )
    for ticket in session.scalars(countable):
        if ticket.resolved_at is not None and ticket.status not in OPEN_STATUSES:
            on_time = ticket.resolved_at <= ticket.deadline
        elif ticket.deadline < now:
            on_time = False
        else:
            continue
        key = (
            tiers.get(str(ticket.tier), str(ticket.tier)) if by == "tier" else names.get(ticket.community_id, "未定位")
        )
        counts = groups.setdefault(key, [0, 0])
        counts[0] += 1
        counts[1] += int(on_time)
    return [OnTime(group=g, counted=c[0], on_time=c[1]) for g, c in sorted(groups.items())]
