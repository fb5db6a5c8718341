"""visitor sessions

The web chat's cookie gets a server-side record that can be revoked and
expires when idle (``visitor_sessions``).

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import backend.models.base


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'visitor_sessions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('visitor', sa.String(length=64), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('previous_token_hash', sa.String(length=64), nullable=True),
        sa.Column('previous_expires_at', backend.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column('resident_id', sa.Integer(), nullable=True),
        sa.Column('legacy', sa.Boolean(), nullable=False),
        sa.Column('created_at', backend.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column('last_seen_at', backend.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column('token_issued_at', backend.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column('revoked_at', backend.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ['resident_id'], ['residents.id'], name=op.f('fk_visitor_sessions_resident_id_residents')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_visitor_sessions')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_visitor_sessions_token_hash')),
    )
    with op.batch_alter_table('visitor_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_visitor_sessions_visitor'), ['visitor'], unique=False)
        batch_op.create_index(
            batch_op.f('ix_visitor_sessions_previous_token_hash'), ['previous_token_hash'], unique=False
        )
        batch_op.create_index(batch_op.f('ix_visitor_sessions_resident_id'), ['resident_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('visitor_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_visitor_sessions_resident_id'))
        batch_op.drop_index(batch_op.f('ix_visitor_sessions_previous_token_hash'))
        batch_op.drop_index(batch_op.f('ix_visitor_sessions_visitor'))
    op.drop_table('visitor_sessions')
