"""Ticket news: written into the residents' chats with the change, in one outbox the chats read.

A status change or a progress note writes a chat reply (answering no
message) for the resident who filed the ticket and for every follower, in
the transaction that changes the ticket: it commits or rolls back with it.
The web page reads its replies itself; Telegram replies wait for the bridge,
which sends them with its retries (tests/bot/test_telegram_bridge.py), and
with no bridge running they wait, not lost. The upgrade that removed the
second outbox (the ``notifications`` table) moves the news still waiting in
it into the chats.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from fastapi.testclient import TestClient
from itsdangerous import URLSafeSerializer

from backend.db import make_engine, make_session_factory
from backend.errors import DomainError
from backend.models import Resident, Ticket
from backend.models.chat import ChatReply
from backend.services.residents import get_or_create_resident
from backend.settings import PROJECT_ROOT
from backend.tickets.service import follow, note_progress, transition
from backend.web.app import create_app
from backend.web.visitor_cookie import COOKIE
from bot.outgoing import senders_with_due_replies
from tests.conftest import TEST_DATABASE_URL, empty_postgres
from tests.factories import file_ticket
from tests.news import news, text_of

NOW = datetime(2026, 11, 22, 2, 0, tzinfo=timezone.utc)


def filed(sessions, channel="web", sender="v1", follower=None):
    with sessions.begin() as s:
        ticket = file_ticket(s, channel=channel, sender=sender, now=NOW)
        if follower is not None:
            other = get_or_create_resident(session=s, channel=follower[0], sender_id=follower[1])
            follow(session=s, ticket=ticket, resident=other, now=NOW)
        return ticket.id


def move(sessions, ticket_id, to, note=None):
    with sessions.begin() as s:
        transition(session=s, ticket=s.get(Ticket, ticket_id), to=to, actor="grid_member:gm-fl-01", now=NOW, note=note)


def test_a_status_change_tells_the_resident_and_followers_in_their_chats_in_the_same_transaction(registry):
    ticket_id = filed(registry, follower=("telegram", "777"))
    move(registry, ticket_id, "in_progress", note="维保单位已在路上")
    with registry() as s:
        told = news(s)
        assert [r.sender for r in told] == ["web:v1", "telegram:777"]
        assert "处理中" in text_of(told[0]) and "维保单位已在路上" in text_of(told[0])
        assert told[0].delivered_at is not None  # the web page reads it itself
        assert told[1].delivered_at is None  # the bridge records when Telegram accepted it
    with pytest.raises(DomainError):
        move(registry, ticket_id, "closed")  # not allowed from in_progress: nobody is told either
    with pytest.raises(RuntimeError), registry.begin() as s:
        transition(session=s, ticket=s.get(Ticket, ticket_id), to="resolved", actor="gm", now=NOW, note="修好了")
        raise RuntimeError("the transaction fails after the change")
    with registry() as s:
        assert len(news(s)) == 2  # the news of the undone change was undone with it
        assert s.get(Ticket, ticket_id).status == "in_progress"


def test_web_news_reaches_the_chat_page_without_any_worker_round(registry, settings):
    ticket_id = filed(registry, sender="visitor-1")
    move(registry, ticket_id, "in_progress")
    cookie = URLSafeSerializer(settings.secret_key, salt="web-visitor").dumps("visitor-1")
    with TestClient(create_app(settings), cookies={COOKIE: cookie}) as client:
        client.app.state.sessions = registry
        replies = client.get("/api/chat/updates?after=0").json()["replies"]
    assert [r["text"] for r in replies if "处理中" in (r["text"] or "")] != []


def test_telegram_news_with_no_bridge_running_waits_in_the_chat_unsent_and_not_lost(registry):
    ticket_id = filed(registry, channel="telegram", sender="555")
    move(registry, ticket_id, "resolved", note="已更换灯泡")
    with registry() as s:
        [reply] = news(s, sender="telegram:555")
        assert reply.delivered_at is None and reply.delivery_attempts == 0
        assert "已更换灯泡" in text_of(reply) and "评单" in text_of(reply)
        assert [b["title"] for b in reply.payload["buttons"]] == ["满意", "基本满意", "不满意"]
        assert senders_with_due_replies(session=s) == ["telegram:555"]  # due for a bridge when one starts


def test_the_owner_reads_about_their_own_ticket_and_a_follower_about_the_one_they_follow(registry):
    ticket_id = filed(registry, sender="owner-1", follower=("web", "follower-1"))
    move(registry, ticket_id, "in_progress", note="维保单位已在路上")
    with registry.begin() as s:
        note_progress(
            session=s, ticket=s.get(Ticket, ticket_id), actor="grid_member:gm-fl-01", note="已经联系", now=NOW
        )
    with registry() as s:
        owner = [text_of(r) for r in news(s, sender="web:owner-1")]
        follower = [text_of(r) for r in news(s, sender="web:follower-1")]
    assert len(owner) == 2 and all(text.startswith("您提交的工单") for text in owner), owner
    assert len(follower) == 2 and all(text.startswith("您关注的工单") for text in follower), follower
    assert "处理中" in owner[0] and "说明：维保单位已在路上" in owner[0]
    assert "当前状态：处理中" in owner[1] and "进展：已经联系" in owner[1]


# --- the upgrade that removed the notifications table ------------------------------------


@pytest.fixture()
def at_0015(tmp_path):
    """A database migrated to the revision before the outboxes were made one, and its Alembic config."""
    if TEST_DATABASE_URL:
        empty_postgres(TEST_DATABASE_URL)
        url = TEST_DATABASE_URL
    else:
        url = f"sqlite:///{tmp_path / 'old.db'}"
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "backend" / "migrations"))
    config.set_main_option("sqlalchemy.url", url)
    command.upgrade(config, "0015")
    engine = make_engine(url)
    yield engine, config
    engine.dispose()


def test_the_upgrade_moves_the_news_still_waiting_in_the_old_outbox_into_the_chats(at_0015):
    engine, config = at_0015
    with make_session_factory(engine).begin() as s:
        owner = get_or_create_resident(session=s, channel="telegram", sender_id="4242")
        visitor = get_or_create_resident(session=s, channel="web", sender_id="v9")
        ids = (owner.id, visitor.id)
    old = sa.table(
        "notifications",
        *(sa.column(name) for name in ("key", "resident_id", "channel", "recipient", "text", "status", "attempts")),
        sa.column("buttons", sa.JSON()),
        sa.column("next_attempt_at", sa.DateTime(timezone=True)),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    rate = [{"title": "满意", "payload": "/rate"}]

    def row(key, resident_id, channel, recipient, text, status, buttons=()):
        return {
            "key": key, "resident_id": resident_id, "channel": channel, "recipient": recipient, "text": text,
            "status": status, "attempts": 0, "buttons": list(buttons), "next_attempt_at": NOW, "created_at": NOW,
        }  # fmt: skip

    with engine.begin() as connection:
        connection.execute(
            old.insert(),
            [
                row("a", ids[0], "telegram", "4242", "已办结，请评单", "pending", rate),  # no bridge was running
                row("b", ids[1], "web", "v9", "处理中", "pending"),
                row("c", ids[1], "web", "v9", "已受理", "sent"),  # in the chat already
            ],
        )
    command.upgrade(config, "0016")
    assert "notifications" not in sa.inspect(engine).get_table_names()
    with make_session_factory(engine)() as s:
        moved = s.scalars(sa.select(ChatReply).order_by(ChatReply.id)).all()
        assert [(r.sender, r.payload, r.message_id) for r in moved] == [
            ("telegram:4242", {"text": "已办结，请评单", "buttons": rate}, None),
            ("web:v9", {"text": "处理中"}, None),
        ]
        assert moved[0].delivered_at is None and moved[1].delivered_at == NOW
        assert s.scalars(sa.select(Resident.sender_id).order_by(Resident.id)).all() == ["4242", "v9"]
    command.downgrade(config, "0015")
    assert "notifications" in sa.inspect(engine).get_table_names()
    command.upgrade(config, "head")
