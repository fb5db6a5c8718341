"""The staff's points API for the monthly ranking (一月一评比): a community's ranking for a month, names masked.

Access and refusals as :mod:`backend.web.console.points_api` describes.
"""

from __future__ import annotations

import logging

from pydantic import BaseModel, Field

from backend.points import staff_work
from backend.points.ranking import title_of
from backend.web.console.points_api import api_router, api_staff
from backend.web.console.points_input import chosen_month, community_in_scope
from backend.web.deps import Console

logger = logging.getLogger(__name__)

router = api_router()


class RankOut(BaseModel):
    """One line of the ranking."""

    rank: int
    shown_name: str = Field(description="masked, 周**")
    points: int
    title: str


class RankingOut(BaseModel):
    """A community's ranking for a month."""

    community: str
    month: str
    lines: list[RankOut]


@router.get("/ranking", response_model=RankingOut, responses={400: {}, 401: {}, 403: {}, 404: {}})
def ranking(console: Console, community: str = "", month: str = "") -> RankingOut:
    """The community's 一月一评比 for a month (YYYY-MM, default this month), names masked."""
    with api_staff(console, "points.view") as me:
        place = community_in_scope(me, community)
        chosen = chosen_month(me, month)
        lines = staff_work.ranking(session=me.db, community=place, month=chosen)
        return RankingOut(
            community=str(place.code),
            month=chosen,
            lines=[
                RankOut(rank=line.rank, shown_name=line.shown_name, points=line.points, title=title_of(line) or "")
                for line in lines
            ],
        )
