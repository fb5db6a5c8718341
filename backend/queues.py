"""The one query every ordered queue in this project asks: whose oldest waiting row is due?

The chat inbox (per sender), Telegram updates (per user) and Telegram
replies (per chat) are all queues that must be worked strictly in order per
owner: a later row waits while an earlier one waits for its retry. So the
question for a sweep is not "which rows are due" but "which owners have a
due *oldest* row".
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement


def owners_with_due_head(
    session: Session,
    *,
    owner: Any,
    order: Any,
    waiting: ColumnElement[bool],
    due: ColumnElement[bool],
    limit: int,
) -> list[Any]:
    """Owners whose first waiting row (lowest ``order``) satisfies ``due``, the longest waiting first.

    Args:
        session: the session to read with.
        owner: the column rows are grouped by (a sender, a Telegram user).
        order: the unique, increasing column that orders an owner's rows.
        waiting: which rows are still in the queue.
        due: when the head row may be tried now.
        limit: at most this many owners.
    """
    heads = select(func.min(order).label("head")).where(waiting).group_by(owner).subquery()
    rows = session.scalars(select(owner).join(heads, heads.c.head == order).where(due).order_by(order).limit(limit))
    return [row for row in rows if row is not None]
