"""Points rules (积分规则) and the 爱心超市 catalogue, as configured by admins.

The ledger itself comes with the points feature; rules and catalogue are
loaded from ``config/points.yml`` so the demo street has them from the start.
"""

from __future__ import annotations

from sqlalchemy import CheckConstraint, Column, ForeignKey, Integer, String, UniqueConstraint

from backend.models.base import Base, UTCDateTime


class PointsRule(Base):
    """How many points an activity earns, its monthly cap, and who may award it."""

    __tablename__ = "points_rules"
    id = Column(Integer, primary_key=True)
    code = Column(String(32), nullable=False, unique=True)
    name = Column(String(64), nullable=False)
    points = Column(Integer, nullable=False)
    monthly_cap = Column(Integer, nullable=True)
    awarded_by = Column(String(16), nullable=False)  # system | grid_member | admin
    version = Column(Integer, nullable=False, default=1)


class CatalogueItem(Base):
    """An item of a community's 爱心超市, its price in points and its stock.

    An item the community no longer offers is retired (下架: ``retired_at``
    set), never deleted: redemptions and their ledger entries refer to it.
    A retired item is left out of what residents are offered and cannot be
    redeemed; restoring it (恢复上架) clears ``retired_at``.
    """

    __tablename__ = "catalogue_items"
    __table_args__ = (
        UniqueConstraint("community_id", "code"),
        CheckConstraint("stock >= 0", name="stock_not_negative"),
        CheckConstraint("cost > 0", name="cost_positive"),
    )
    id = Column(Integer, primary_key=True)
    community_id = Column(ForeignKey("communities.id"), nullable=False, index=True)
    code = Column(String(32), nullable=False)
    name = Column(String(64), nullable=False)
    cost = Column(Integer, nullable=False)
    stock = Column(Integer, nullable=False, default=0)
    retired_at = Column(UTCDateTime(), nullable=True)
