"""resident community consent

When a resident agreed, in the chat, to be registered as a resident of the
community their own tickets point to (``residents.community_consent_at``).
Nothing is filled in for existing residents: none of them has been asked.

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import backend.models.base

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("residents", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("community_consent_at", backend.models.base.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("residents", schema=None) as batch_op:
        batch_op.drop_column("community_consent_at")
