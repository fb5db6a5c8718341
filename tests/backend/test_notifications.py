"""The notification outbox: queued with the status change, delivered by the worker, retried, never sent twice.

Telegram news joins the resident's chat; the bridge's tests push it through a
fake Bot API (tests/bot/test_telegram_bridge.py).
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient
from itsdangerous import URLSafeSerializer

from backend.errors import DomainError
from backend.models import Notification
from backend.models.chat import ChatReply
from backend.notifications import MAX_ATTEMPTS, DeliveryFailed, chat_sender, deliver_due
from backend.services.residents import get_or_create_resident
from backend.tickets.service import follow, transition
from backend.web.app import create_app
from backend.web.identity import COOKIE
from tests.factories import file_ticket

NOW = datetime(2026, 11, 22, 2, 0, tzinfo=timezone.utc)


def filed(sessions, channel="web", sender="v1", follower=None):
    with sessions.begin() as s:
        ticket = file_ticket(s, channel=channel, sender=sender, now=NOW)
        if follower is not None:
            other = get_or_create_resident(session=s, channel=follower[0], sender_id=follower[1])
            follow(session=s, ticket=ticket, resident=other, now=NOW)
        return ticket.id


def move(sessions, ticket_id, to, note=None):
    from backend.models import Ticket

    with sessions.begin() as s:
        transition(session=s, ticket=s.get(Ticket, ticket_id), to=to, actor="grid_member:gm-fl-01", now=NOW, note=note)


def test_a_status_change_queues_news_for_the_resident_and_followers_in_the_same_transaction(registry):
    ticket_id = filed(registry, follower=("telegram", "777"))
    move(registry, ticket_id, "in_progress", note="维保单位已在路上")
    with registry() as s:
        rows = s.query(Notification).order_by(Notification.id).all()
        assert [(r.channel, r.recipient) for r in rows] == [("web", "v1"), ("telegram", "777")]
        assert "处理中" in rows[0].text and "维保单位已在路上" in rows[0].text
    with pytest.raises(DomainError):
        move(registry, ticket_id, "closed")  # not allowed from in_progress: nothing is queued either
    with registry() as s:
        assert s.query(Notification).count() == 2


def test_web_news_reaches_the_chat_page_now_and_in_the_history(registry, settings):
    ticket_id = filed(registry, sender="visitor-1")
    move(registry, ticket_id, "in_progress")
    report = asyncio.run(deliver_due(sessions=registry, senders={"web": chat_sender(registry, "web")}, now=NOW))
    assert report.sent == 1
    again = asyncio.run(deliver_due(sessions=registry, senders={"web": chat_sender(registry, "web")}, now=NOW))
    assert again.sent == 0  # sent once
    app = create_app(settings)
    cookie = URLSafeSerializer(settings.secret_key, salt="web-visitor").dumps("visitor-1")
    with TestClient(app, cookies={COOKIE: cookie}) as client:
        client.app.state.sessions = registry
        updates = client.get("/api/chat/updates?after=0").json()
        assert any("处理中" in (r["text"] or "") for r in updates["replies"])


def test_a_failing_channel_is_retried_with_backoff_then_given_up(registry):
    ticket_id = filed(registry)
    move(registry, ticket_id, "in_progress")
    calls = []

    async def broken(recipient, text, buttons):
        calls.append(recipient)
        raise DeliveryFailed("down")

    now = NOW
    for _ in range(MAX_ATTEMPTS):
        asyncio.run(deliver_due(sessions=registry, senders={"web": broken}, now=now))
        asyncio.run(deliver_due(sessions=registry, senders={"web": broken}, now=now))  # not due again yet
        now += timedelta(hours=2)
    assert len(calls) == MAX_ATTEMPTS
    with registry() as s:
        row = s.query(Notification).one()
        assert row.status == "failed" and row.attempts == MAX_ATTEMPTS and row.last_error == "down"


def test_a_channel_without_a_sender_keeps_its_news_pending(registry):
    ticket_id = filed(registry, channel="telegram", sender="555")
    move(registry, ticket_id, "in_progress")
    asyncio.run(deliver_due(sessions=registry, senders={"web": chat_sender(registry, "web")}, now=NOW))
    with registry() as s:
        assert s.query(Notification).one().status == "pending"
        assert s.query(ChatReply).count() == 0


def test_telegram_news_joins_the_chat_for_the_bridge_to_push(registry):
    ticket_id = filed(registry, channel="telegram", sender="4242")
    move(registry, ticket_id, "in_progress", note="已派维修工")
    senders = {"telegram": chat_sender(registry, "telegram")}
    assert asyncio.run(deliver_due(sessions=registry, senders=senders, now=NOW)).sent == 1
    assert asyncio.run(deliver_due(sessions=registry, senders=senders, now=NOW)).sent == 0
    with registry() as s:
        reply = s.query(ChatReply).one()
        assert reply.sender == "telegram:4242" and "已派维修工" in reply.payload["text"]
        assert reply.delivered_at is None  # the bridge records when Telegram accepted it


def test_the_owner_reads_about_their_own_ticket_and_a_follower_about_the_one_they_follow(registry):
    from backend.models import Ticket
    from backend.tickets.service import note_progress

    ticket_id = filed(registry, sender="owner-1", follower=("web", "follower-1"))
    move(registry, ticket_id, "in_progress", note="维保单位已在路上")
    with registry.begin() as s:
        note_progress(
            session=s, ticket=s.get(Ticket, ticket_id), actor="grid_member:gm-fl-01", note="已经联系", now=NOW
        )
    with registry() as s:
        rows = {(r.recipient, r.event_id): r.text for r in s.query(Notification).order_by(Notification.id)}
    owner = [text for (who, _), text in rows.items() if who == "owner-1"]
    follower = [text for (who, _), text in rows.items() if who == "follower-1"]
    assert len(owner) == 2 and all(text.startswith("您提交的工单") for text in owner), owner
    assert len(follower) == 2 and all(text.startswith("您关注的工单") for text in follower), follower
    assert "处理中" in owner[0] and "说明：维保单位已在路上" in owner[0]
    assert "当前状态：处理中" in owner[1] and "进展：已经联系" in owner[1]
