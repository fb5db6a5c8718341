"""What the resident's points answers read besides the ledger: their community, the earning rules, a redeemed item.

The chat's points answers (:mod:`actions.points`) show the community a
resident belongs to, the rules that give points and the name of what was
just redeemed; these look-ups are here so that the actions never query the
database themselves.
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.models import CatalogueItem, Community, PointsRule, Resident
from backend.models.ledger import Redemption

logger = logging.getLogger(__name__)


def community_of(*, session: Session, resident: Resident) -> Community | None:
    """The community the resident is registered in, or ``None`` for a resident without one."""
    return session.get(Community, resident.community_id) if resident.community_id else None


def earning_rules(*, session: Session) -> list[PointsRule]:
    """The rules that give points (a rule worth nothing is left out), in the order they were configured."""
    return [r for r in session.scalars(select(PointsRule).order_by(PointsRule.id)) if r.points > 0]


def redeemed_item(*, session: Session, redemption: Redemption) -> CatalogueItem | None:
    """The catalogue item a redemption took."""
    return session.get(CatalogueItem, redemption.item_id)
