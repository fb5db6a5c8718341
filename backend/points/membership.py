"""Which community a resident belongs to, when their own tickets say so and they agree.

Points, the monthly ranking and the 爱心超市 are per community, so a resident
without one cannot see what their points buy. Filing a ticket at a building
says where the resident is likely to live: the registry routes the building
to a grid, and the grid belongs to a community. That is only a likely guess
(one may report a problem at a relative's building), and which community a
person lives in is personal information, so nothing is set from it until
the resident says yes in the chat: :func:`ticket_communities` finds what to
ask about, :func:`join_community` sets it and records when they agreed
(``Resident.community_consent_at``).

Only tickets at a building count: a road or a public place says nothing
about where the resident lives.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.errors import InvalidInput, NotFound
from backend.models import Building, Community, Grid, Resident, Ticket

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TicketCommunity:
    """A community the resident's tickets point to, and how many of their tickets are in it."""

    code: str
    name: str
    tickets: int


def ticket_communities(*, session: Session, resident: Resident, limit: int = 2) -> list[TicketCommunity]:
    """The communities of the buildings the resident filed tickets at: most tickets first, then the latest.

    Through the registry (building → grid → community), so a ticket filed
    before a building moved to another grid counts where the building is now.
    """
    rows = session.execute(
        select(Community.code, Community.name, func.count(Ticket.id), func.max(Ticket.id))
        .join(Building, Building.id == Ticket.building_id)
        .join(Grid, Grid.id == Building.grid_id)
        .join(Community, Community.id == Grid.community_id)
        .where(Ticket.resident_id == resident.id)
        .group_by(Community.id, Community.code, Community.name)
        .order_by(func.count(Ticket.id).desc(), func.max(Ticket.id).desc())
        .limit(limit)
    )
    return [TicketCommunity(code=str(code), name=str(name), tickets=int(count)) for code, name, count, _ in rows]


def join_community(*, session: Session, resident: Resident, community_code: str, now: datetime) -> Community:
    """The resident said yes: make them a resident of the community, recording when they agreed.

    Only a community their own tickets point to can be joined this way (a
    forged button cannot put anyone anywhere). Saying yes again to the same
    community changes nothing.

    Raises:
        NotFound: the resident's tickets do not point to that community.
        InvalidInput: the resident already belongs to another community.
    """
    offered = {c.code for c in ticket_communities(session=session, resident=resident, limit=100)}
    community = session.scalars(select(Community).filter_by(code=community_code)).one_or_none()
    if community is None or community_code not in offered:
        raise NotFound("您报过的工单里没有这个社区。")
    if resident.community_id is not None:
        if resident.community_id == community.id:
            return community
        current = session.get(Community, resident.community_id)
        raise InvalidInput(f"您已经登记为{current.name if current else '别的社区'}的居民了。")
    resident.community_id = community.id
    resident.community_consent_at = now
    session.flush()
    logger.info("resident %s joined community %s with consent", resident.code, community.code)
    return community
