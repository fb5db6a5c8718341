"""The notification outbox: queued with the status change, delivered by the worker, retried, never sent twice.

Telegram delivery runs against a fake Bot API server on a loopback port (an
HTTP server in the test that records calls and answers 429 / 500 / ok as
scripted), through python-telegram-bot's real client.
"""

from __future__ import annotations

import asyncio
import json
import threading
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest
from fastapi.testclient import TestClient
from itsdangerous import URLSafeSerializer
from telegram import Bot

from backend.errors import DomainError
from backend.models import Notification
from backend.models.chat import ChatReply
from backend.notifications import MAX_ATTEMPTS, DeliveryFailed, deliver_due, telegram_sender, web_sender
from backend.services.residents import get_or_create_resident
from backend.tickets.service import create_ticket, follow, transition
from backend.web.app import create_app
from backend.web.identity import COOKIE

NOW = datetime(2026, 11, 22, 2, 0, tzinfo=timezone.utc)


def filed(sessions, channel="web", sender="v1", follower=None):
    with sessions.begin() as s:
        resident = get_or_create_resident(session=s, channel=channel, sender_id=sender)
        ticket = create_ticket(
            session=s,
            resident=resident,
            category="elevator",
            description="枫林苑3号楼电梯坏了",
            place_text="枫林苑3号楼",
            entities={"building": 3},
            now=NOW,
        )
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
    report = asyncio.run(deliver_due(sessions=registry, senders={"web": web_sender(registry)}, now=NOW))
    assert report.sent == 1
    again = asyncio.run(deliver_due(sessions=registry, senders={"web": web_sender(registry)}, now=NOW))
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
    asyncio.run(deliver_due(sessions=registry, senders={"web": web_sender(registry)}, now=NOW))
    with registry() as s:
        assert s.query(Notification).one().status == "pending"
        assert s.query(ChatReply).count() == 0


class FakeBotAPI:
    """A Telegram Bot API stand-in: records every call and answers from a script (then ok)."""

    def __init__(self):
        self.calls: list[tuple[str, dict]] = []
        self.script: list[tuple[int, dict]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode()
                if "json" in (self.headers.get("Content-Type") or ""):
                    params = json.loads(raw or "{}")
                else:
                    params = {k: v[0] for k, v in parse_qs(raw).items()}
                method = self.path.rsplit("/", 1)[-1]
                fake.calls.append((method, params))
                status, body = fake.script.pop(0) if fake.script and method == "sendMessage" else (200, None)
                if body is None:
                    body = {"ok": True, "result": fake.result(method, params)}
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/bot"

    @staticmethod
    def result(method, params):
        if method == "getMe":
            return {"id": 1, "is_bot": True, "first_name": "三事通", "username": "santong_bot"}
        return {
            "message_id": 1,
            "date": 1763776800,
            "chat": {"id": int(params["chat_id"]), "type": "private"},
            "text": params.get("text", ""),
        }

    def sent(self):
        return [p for m, p in self.calls if m == "sendMessage"]


@pytest.fixture()
def bot_api():
    fake = FakeBotAPI()
    yield fake
    fake.server.shutdown()


def test_telegram_news_honours_429_retry_after_survives_500_and_is_sent_once(registry, bot_api):
    ticket_id = filed(registry, channel="telegram", sender="4242")
    move(registry, ticket_id, "in_progress", note="已派维修工")
    bot_api.script = [
        (
            429,
            {
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests: retry after 7",
                "parameters": {"retry_after": 7},
            },
        ),
        (500, {"ok": False, "error_code": 500, "description": "Internal Server Error"}),
    ]

    async def rounds():
        bot = Bot("123:TEST", base_url=bot_api.url)
        senders = {"telegram": telegram_sender(bot)}
        first = await deliver_due(sessions=registry, senders=senders, now=NOW)
        early = await deliver_due(sessions=registry, senders=senders, now=NOW + timedelta(seconds=5))
        second = await deliver_due(sessions=registry, senders=senders, now=NOW + timedelta(seconds=8))
        third = await deliver_due(sessions=registry, senders=senders, now=NOW + timedelta(minutes=5))
        done = await deliver_due(sessions=registry, senders=senders, now=NOW + timedelta(hours=1))
        return first, early, second, third, done

    first, early, second, third, done = asyncio.run(rounds())
    assert (first.retried, early.retried + early.sent, second.retried, third.sent, done.sent) == (1, 0, 1, 1, 0)
    sent = bot_api.sent()
    assert len(sent) == 3 and {str(p["chat_id"]) for p in sent} == {"4242"}
    assert "已派维修工" in sent[-1]["text"]
    with registry() as s:
        row = s.query(Notification).one()
        assert row.status == "sent" and row.attempts == 3
