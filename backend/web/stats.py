"""Public figures (结果公示): satisfaction rates, and on-time rates per tier or community.

Only aggregates are served (how many tickets were rated and the share not
不满意), never a ticket or a person, so the street can publish them the way
the seeds publish "满意度99.6%".
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel

from backend.tickets.satisfaction import satisfaction_rates
from backend.tickets.timeliness import on_time_rates
from backend.web.deps import DbSession

router = APIRouter(prefix="/api/stats", tags=["statistics"])


class SatisfactionRate(BaseModel):
    """One group's satisfaction: rated tickets and the share rated 满意, 基本满意 or 默认满意."""

    group: str
    rated: int
    satisfied: int
    rate: float


@router.get("/satisfaction", response_model=list[SatisfactionRate])
def satisfaction(
    session: DbSession, by: Literal["community", "category", "month"] = "community"
) -> list[SatisfactionRate]:
    """Satisfaction rates grouped ``by`` community, category or month."""
    return [
        SatisfactionRate(group=r.group, rated=r.rated, satisfied=r.satisfied, rate=r.rate)
        for r in satisfaction_rates(session=session, by=by)
    ]


class OnTimeRate(BaseModel):
    """One group's tickets that are due or done, and the share resolved by the deadline."""

    group: str
    counted: int
    on_time: int
    rate: float


@router.get("/on-time", response_model=list[OnTimeRate])
def on_time(session: DbSession, by: Literal["tier", "community"] = "tier") -> list[OnTimeRate]:
    """On-time rates (按时办结率) grouped ``by`` response tier or community."""
    return [
        OnTimeRate(group=r.group, counted=r.counted, on_time=r.on_time, rate=r.rate)
        for r in on_time_rates(session=session, by=by, now=datetime.now(timezone.utc))
    ]
