"""open311 public summary

A ticket's public summary: the text a staff member publishes for Open311's
keyless readers in place of the resident's own words, with who published
it and when. Nothing is published until someone does.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import backend.models.base

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("public_summary", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("public_summary_by", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("public_summary_at", backend.models.base.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_column("public_summary_at")
        batch_op.drop_column("public_summary_by")
        batch_op.drop_column("public_summary")
