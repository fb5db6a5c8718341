"""How long conversations are kept: old ones are deleted, whole, once a day.

Conversations hold what residents said, phones included; they are kept
for ``CONVERSATION_RETENTION_DAYS`` (default 180) after their last message
and then deleted — in Rasa's tracker store (every event of a conversation
whose newest event is older than that: deleting only the old part of a
conversation Rasa still uses would change what it remembers), and in the
backend's copies (chat messages and replies, stored Telegram updates).
Tickets, their timelines and the points ledger are records, not
conversation logs, and are kept. A message still waiting for an answer or
a reply still waiting to be sent is never deleted: nothing a resident sent
is lost to the clean-up.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, inspect, select
from sqlalchemy.orm import Session

from backend.db import make_engine
from backend.models import ChatMessage, ChatReply, TelegramUpdate
from backend.models.chat import PENDING
from backend.tracker_events import EVENTS

logger = logging.getLogger(__name__)
BATCH = 500


@dataclass
class Purged:
    """What one clean-up deleted."""

    conversations: int = 0
    tracker_events: int = 0
    chat_messages: int = 0
    chat_replies: int = 0
    telegram_updates: int = 0

    def __str__(self) -> str:
        return (
            f"对话 {self.conversations} 段（{self.tracker_events} 条事件），聊天消息 {self.chat_messages} 条，"
            f"回复 {self.chat_replies} 条，Telegram 更新 {self.telegram_updates} 条"
        )


def purge_backend(session: Session, *, now: datetime, days: int, purged: Purged | None = None) -> Purged:
    """Delete the backend's chat copies older than ``days`` (never pending ones)."""
    purged = purged or Purged()
    cutoff = now - timedelta(days=days)
    done_updates = select(TelegramUpdate.update_id).where(
        TelegramUpdate.received_at < cutoff, TelegramUpdate.status != "received"
    )
    no_sync = {"synchronize_session": False}  # bulk deletes; nothing loaded in this session needs updating
    purged.telegram_updates += session.execute(
        delete(TelegramUpdate).where(TelegramUpdate.update_id.in_(done_updates.scalar_subquery())),
        execution_options=no_sync,
    ).rowcount
    old_messages = select(ChatMessage.id).where(ChatMessage.created_at < cutoff, ChatMessage.status != PENDING)
    # Replies: old and sent (or never to be pushed); a reply to a kept message goes with it only when old itself.
    purged.chat_replies += session.execute(
        delete(ChatReply).where(
            ChatReply.created_at < cutoff,
            (ChatReply.delivered_at.is_not(None)) | (ChatReply.next_delivery_at.is_(None)),
        ),
        execution_options=no_sync,
    ).rowcount
    still_referenced = select(ChatReply.message_id).where(ChatReply.message_id.is_not(None))
    still_updated = select(TelegramUpdate.chat_message_id).where(TelegramUpdate.chat_message_id.is_not(None))
    purged.chat_messages += session.execute(
        delete(ChatMessage).where(
            ChatMessage.id.in_(old_messages.scalar_subquery()),
            ChatMessage.id.not_in(still_referenced.scalar_subquery()),
            ChatMessage.id.not_in(still_updated.scalar_subquery()),
        ),
        execution_options=no_sync,
    ).rowcount
    return purged


def purge_tracker_store(tracker_url: str, *, now: datetime, days: int, purged: Purged | None = None) -> Purged:
    """Delete every event of the conversations whose newest event is older than ``days``."""
    purged = purged or Purged()
    engine = make_engine(tracker_url)
    try:
        if not inspect(engine).has_table("events"):
            return purged  # Rasa has not written anything yet
        events = EVENTS
        cutoff = (now - timedelta(days=days)).timestamp()
        with engine.begin() as connection:
            stale = list(
                connection.execute(
                    select(events.c.sender_id)
                    .group_by(events.c.sender_id)
                    .having(func.max(events.c.timestamp) < cutoff)
                ).scalars()
            )
            for start in range(0, len(stale), BATCH):
                chunk = stale[start : start + BATCH]
                purged.tracker_events += connection.execute(
                    delete(events).where(events.c.sender_id.in_(chunk))
                ).rowcount
            purged.conversations += len(stale)
    finally:
        engine.dispose()
    return purged
