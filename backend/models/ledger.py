"""The points ledger (积分台账): append-only entries, redemptions, and one lock row per resident.

A balance is never stored: it is the sum of the resident's entries. Every
award names its source (a ticket, a rating, a volunteer log, a redemption,
an adjustment, an expiry) in ``idempotency_key``, which the database keeps
unique, so the same event can never be credited twice, even by two
processes at once. ``PointsAccount`` holds no money: writers bump its
counter first, which serialises one resident's ledger writes in SQLite and
PostgreSQL alike, so a balance read after that cannot be spent twice.
"""

from __future__ import annotations

from sqlalchemy import CheckConstraint, Column, ForeignKey, Integer, String, Text

from backend.models.base import Base, UTCDateTime, utcnow


class PointsAccount(Base):
    """The row a resident's ledger writers lock; ``writes`` counts them."""

    __tablename__ = "points_accounts"
    resident_id = Column(ForeignKey("residents.id"), primary_key=True)
    writes = Column(Integer, nullable=False, default=0)


class PointsEntry(Base):
    """One change of a resident's points, with its reason in plain Chinese."""

    __tablename__ = "points_entries"
    __table_args__ = (CheckConstraint("amount <> 0", name="amount_not_zero"),)
    id = Column(Integer, primary_key=True)
    resident_id = Column(ForeignKey("residents.id"), nullable=False, index=True)
    amount = Column(Integer, nullable=False)
    rule_code = Column(String(32), nullable=True, index=True)
    reason = Column(Text, nullable=False)
    source_kind = Column(String(16), nullable=False)
    source_ref = Column(String(64), nullable=False)
    idempotency_key = Column(String(128), nullable=False, unique=True)
    actor = Column(String(64), nullable=False)
    rules_version = Column(Integer, nullable=False, default=1)
    created_at = Column(UTCDateTime(), nullable=False, default=utcnow, index=True)


class Redemption(Base):
    """An item taken at the 爱心超市: the code the resident shows, and its ledger entry."""

    __tablename__ = "redemptions"
    id = Column(Integer, primary_key=True)
    code = Column(String(12), nullable=False, unique=True)
    resident_id = Column(ForeignKey("residents.id"), nullable=False, index=True)
    item_id = Column(ForeignKey("catalogue_items.id"), nullable=False, index=True)
    cost = Column(Integer, nullable=False)
    entry_id = Column(ForeignKey("points_entries.id"), nullable=False, unique=True)
    status = Column(String(16), nullable=False, default="issued")
    created_at = Column(UTCDateTime(), nullable=False, default=utcnow)
    collected_at = Column(UTCDateTime(), nullable=True)
