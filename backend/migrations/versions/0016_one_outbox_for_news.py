"""one outbox for news: the notifications table goes, its waiting rows become chat replies

Ticket news is now written straight into the residents' chats (``chat_replies``),
which the web page shows and the Telegram bridge sends with its own retries.
The ``notifications`` table, an outbox in front of that outbox, is dropped.
News still waiting in it (``pending``: a Telegram chat with no bridge running,
or a row the worker had not reached) is moved into ``chat_replies`` first,
in order, so nothing a resident was to be told is lost. Rows already sent
are in the chats already. Downgrading makes the table again, empty.

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import backend.models.base

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

PUSHED_CHANNELS = ("telegram",)  # a bridge sends these and records delivery; the web page reads its own

_notifications = sa.table(
    "notifications",
    sa.column("id", sa.Integer()),
    sa.column("channel", sa.String()),
    sa.column("recipient", sa.String()),
    sa.column("text", sa.Text()),
    sa.column("buttons", sa.JSON()),
    sa.column("status", sa.String()),
    sa.column("created_at", backend.models.base.UTCDateTime(timezone=True)),
)
_chat_replies = sa.table(
    "chat_replies",
    sa.column("message_id", sa.Integer()),
    sa.column("sender", sa.String()),
    sa.column("payload", sa.JSON()),
    sa.column("created_at", backend.models.base.UTCDateTime(timezone=True)),
    sa.column("delivered_at", backend.models.base.UTCDateTime(timezone=True)),
    sa.column("delivery_attempts", sa.Integer()),
)


def upgrade() -> None:
    connection = op.get_bind()
    waiting = connection.execute(
        sa.select(_notifications).where(_notifications.c.status == "pending").order_by(_notifications.c.id)
    ).all()
    replies = [
        {
            "message_id": None,
            "sender": f"{row.channel}:{row.recipient}",
            "payload": {"text": row.text, "buttons": list(row.buttons)} if row.buttons else {"text": row.text},
            "created_at": row.created_at,
            "delivered_at": None if row.channel in PUSHED_CHANNELS else row.created_at,
            "delivery_attempts": 0,
        }
        for row in waiting
    ]
    if replies:
        op.bulk_insert(_chat_replies, replies)
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notifications_ticket_id"))
        batch_op.drop_index(batch_op.f("ix_notifications_status"))
        batch_op.drop_index(batch_op.f("ix_notifications_resident_id"))
        batch_op.drop_index(batch_op.f("ix_notifications_next_attempt_at"))
    op.drop_table("notifications")


def downgrade() -> None:
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("recipient", sa.String(length=128), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("buttons", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", backend.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.Column("created_at", backend.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", backend.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["event_id"], ["ticket_events.id"], name=op.f("fk_notifications_event_id_ticket_events")
        ),
        sa.ForeignKeyConstraint(["resident_id"], ["residents.id"], name=op.f("fk_notifications_resident_id_residents")),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name=op.f("fk_notifications_ticket_id_tickets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
        sa.UniqueConstraint("key", name=op.f("uq_notifications_key")),
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notifications_next_attempt_at"), ["next_attempt_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_notifications_resident_id"), ["resident_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_notifications_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_notifications_ticket_id"), ["ticket_id"], unique=False)
