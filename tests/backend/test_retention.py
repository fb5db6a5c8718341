"""Conversations past their retention are deleted whole; tickets, pending messages and live conversations stay.

Rasa's own SQLTrackerStore writes the tracker store here, so the clean-up
is tested against Rasa's schema, not a copy of it.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

from sqlalchemy import create_engine, select, text

from backend.models import ChatMessage, ChatReply, Ticket
from backend.models.chat import ANSWERED, PENDING
from backend.retention import purge_backend, purge_tracker_store
from tests.factories import file_ticket

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=timezone.utc)


def write_conversation(path, sender, *days_ago):
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import BotUttered, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    events = []
    for days in days_ago:
        at = (NOW - timedelta(days=days)).timestamp()
        events += [UserUttered("路灯坏了，电话13912345678", timestamp=at - 60), BotUttered("收到", timestamp=at)]
    store = SQLTrackerStore(Domain.empty(), dialect="sqlite", db=str(path))
    tracker = DialogueStateTracker.from_events(sender, events)
    asyncio.run(store.save(tracker))


def senders(path):
    with create_engine(f"sqlite:///{path}").connect() as c:
        return {row[0] for row in c.execute(text("SELECT DISTINCT sender_id FROM events"))}


def test_old_conversations_leave_the_tracker_store_whole_and_recent_ones_stay(tmp_path):
    path = tmp_path / "tracker.db"
    write_conversation(path, "web:old", 200)
    write_conversation(path, "telegram:1", 10)
    write_conversation(path, "web:both", 300, 1)  # started long ago, still talking: kept whole
    purged = purge_tracker_store(f"sqlite:///{path}", now=NOW, days=180)
    assert purged.conversations == 1 and purged.tracker_events == 2
    assert senders(path) == {"telegram:1", "web:both"}
    assert purge_tracker_store(f"sqlite:///{path}", now=NOW, days=180).conversations == 0


def test_an_empty_tracker_store_is_fine(tmp_path):
    assert purge_tracker_store(f"sqlite:///{tmp_path / 'none.db'}", now=NOW, days=180).conversations == 0


def test_backend_copies_go_but_pending_messages_unsent_replies_and_tickets_stay(sessions, registry):
    old = NOW - timedelta(days=200)
    with sessions.begin() as s:
        answered = ChatMessage(sender="web:a", text="旧消息", status=ANSWERED, created_at=old, next_attempt_at=old)
        pending = ChatMessage(sender="web:b", text="还没回答", status=PENDING, created_at=old, next_attempt_at=old)
        s.add_all([answered, pending])
        s.flush()
        s.add_all(
            [
                ChatReply(message_id=answered.id, sender="web:a", payload={"text": "好"}, created_at=old),
                ChatReply(sender="telegram:9", payload={"text": "待发"}, created_at=old, next_delivery_at=old),
            ]
        )
        number = file_ticket(s, now=old).number
    with sessions.begin() as s:
        purged = purge_backend(s, now=NOW, days=180)
    assert (purged.chat_messages, purged.chat_replies) == (1, 1)
    with sessions() as s:
        assert [m.text for m in s.scalars(select(ChatMessage))] == ["还没回答"]
        assert [r.payload["text"] for r in s.scalars(select(ChatReply))] == ["待发"]
        assert s.scalars(select(Ticket).filter_by(number=number)).one() is not None
