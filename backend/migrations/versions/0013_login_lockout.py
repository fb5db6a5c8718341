"""login lockout

Login attempts are counted per username in ``console_login_throttles``,
one row locked while an attempt is counted (the audit trail counted them
before, which parallel attempts could overrun).

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import backend.models.base


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'console_login_throttles',
        sa.Column('username', sa.String(length=64), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('locks', sa.Integer(), nullable=False),
        sa.Column('locked_until', backend.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column('last_attempt_at', backend.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('username', name=op.f('pk_console_login_throttles')),
    )
    with op.batch_alter_table('console_login_throttles', schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f('ix_console_login_throttles_last_attempt_at'), ['last_attempt_at'], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table('console_login_throttles', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_console_login_throttles_last_attempt_at'))
    op.drop_table('console_login_throttles')
