"""The Telegram bridge against a fake Bot API server (loopback HTTP) and a scripted Rasa.

python-telegram-bot's real client talks to tests/fake_bot_api.py, which
records every call and can answer 429 with retry_after, 500, or hang past
the client's timeout. Rasa is a loopback stub (tests/rasa_stub.py) that records the
messages in the order it got them and can answer with an empty list (what
Rasa does when the action server is down).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import event
from telegram import InlineKeyboardMarkup

from backend import messages
from backend.db import make_engine, make_session_factory
from backend.models import ChatMessage, Photo, Resident, TelegramUpdate
from backend.models.base import utcnow
from backend.models.chat import ChatReply
from backend.rasa_client import RasaClient
from backend.tickets.service import transition
from bot.incoming import UNSUPPORTED
from bot.outgoing import coalesce, render
from bot.rate_limit import RateLimiter
from bot.telegram_bridge import SECRET_HEADER, Bridge, make_bot, secret_matches, webhook_app
from tests.factories import file_ticket
from tests.fake_bot_api import (
    FORBIDDEN,
    SERVER_ERROR,
    TOKEN,
    FakeBotAPI,
    button_update,
    hang,
    photo_update,
    sticker_update,
    text_update,
    too_many,
)
from tests.rasa_stub import RasaStub

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


class FakeRasa:
    """Rasa's REST channel: answers "收到：<text>" (buttons for 你好), or nothing while ``down``."""

    def __init__(self) -> None:
        self.received: list[tuple[str, str]] = []
        self.down = False
        self.active: dict[str, int] = {}
        self.most_at_once = 0  # the most messages of one sender Rasa was working on at the same time
        self.stub: RasaStub | None = None

    async def handle(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        sender = body["sender"]
        self.active[sender] = self.active.get(sender, 0) + 1
        self.most_at_once = max(self.most_at_once, self.active[sender])
        try:
            await asyncio.sleep(0.01)
            if self.down:
                return httpx.Response(200, json=[])
            self.received.append((body["sender"], body["message"]))
            answer = {"text": f"收到：{body['message']}"}
            if body["message"] == "你好":
                answer["buttons"] = [{"title": "你能做什么？", "payload": "/help"}]
            return httpx.Response(200, json=[answer])
        finally:
            self.active[sender] -= 1

    def client(self) -> RasaClient:
        if self.stub is None:
            self.stub = RasaStub(self.handle)
        return RasaClient(self.stub.url)

    def close(self) -> None:
        if self.stub is not None:
            self.stub.close()


@pytest.fixture()
def bot_api():
    fake = FakeBotAPI()
    yield fake
    fake.close()


@pytest.fixture()
def rasa():
    fake = FakeRasa()
    yield fake
    fake.close()


def telegram_settings(settings, bot_api):
    return replace(settings, telegram_bot_token=TOKEN, telegram_api_url=bot_api.url)


async def make_bridge(settings, bot_api, rasa, sessions=None):
    bot = make_bot(telegram_settings(settings, bot_api), read_timeout=1.0)
    await bot.initialize()
    sessions = sessions or make_session_factory(make_engine(settings.database_url))
    limiter = RateLimiter(per_chat=100.0, chat_burst=3, overall=1000.0)
    return Bridge(sessions=sessions, bot=bot, rasa=rasa.client(), upload_dir=settings.upload_dir, limiter=limiter)


async def settle(bridge, rounds=3):
    """Let the chat workers finish, then sweep for anything due (as the running bridge does)."""
    for _ in range(rounds):
        await bridge.drain()
        await bridge.sweep()
        await bridge.drain()


def texts(bot_api, chat_id=None):
    return [p["text"] for p in bot_api.delivered if chat_id is None or int(p["chat_id"]) == chat_id]


# --- rendering and limits ----------------------------------------------------------------


def test_buttons_become_an_inline_keyboard_whose_presses_send_the_payload():
    [(text, markup)] = render({"text": "您好", "buttons": [{"title": "你能做什么？", "payload": "/help"}]})
    assert text == "您好" and isinstance(markup, InlineKeyboardMarkup)
    [[button]] = markup.inline_keyboard
    assert (button.text, button.callback_data) == ("你能做什么？", "/help")


def test_long_text_is_split_at_telegrams_limit_with_the_keyboard_last_and_long_payloads_fall_back():
    parts = render({"text": "长" * 5000, "buttons": [{"title": "电梯", "payload": "/x" + "{}" * 40}]})
    assert [len(t) for t, _ in parts] == [4096, 904]
    assert parts[0][1] is None and parts[1][1].inline_keyboard[0][0].callback_data == "电梯"


def test_answers_without_buttons_go_out_together_up_to_the_first_with_buttons():
    assert coalesce([{"text": "一"}, {"text": "二"}, {"text": "三", "buttons": [{}]}, {"text": "四"}]) == 3
    assert coalesce([{"text": "长" * 4000}, {"text": "长" * 200}]) == 1


async def test_the_rate_limiter_allows_a_short_burst_then_one_a_second_per_chat_and_30_overall():
    clock = {"t": 0.0}
    slept = []

    async def sleep(seconds):
        slept.append(seconds)
        clock["t"] += seconds

    limiter = RateLimiter(clock=lambda: clock["t"], sleep=sleep)
    at = []
    for _ in range(5):
        await limiter.acquire(7)
        at.append(round(clock["t"], 2))
    assert at == [0.0, 0.0, 0.0, 1.0, 2.0]
    start = clock["t"]
    for chat in range(100, 160):  # 60 chats, one message each: the overall limit paces them
        await limiter.acquire(chat)
    assert clock["t"] - start >= 0.9  # 30 at once, then 30 more within about a second
    limiter.hold(7, 9)
    before = clock["t"]
    await limiter.acquire(7)
    assert clock["t"] - before >= 9


# --- the whole path ------------------------------------------------------------------------


async def test_a_message_is_relayed_as_the_telegram_user_and_the_answer_has_its_buttons(settings, bot_api, rasa):
    bridge = await make_bridge(settings, bot_api, rasa)
    bot_api.updates = [text_update(1, 42, "你好")]
    offset = await bridge.poll_once(None)
    await settle(bridge)
    assert offset == 2
    assert rasa.received == [("telegram:42", "你好")]
    [sent] = bot_api.delivered
    assert int(sent["chat_id"]) == 42 and sent["text"] == "收到：你好"
    markup = sent["reply_markup"]
    markup = json.loads(markup) if isinstance(markup, str) else markup
    assert markup["inline_keyboard"][0][0]["callback_data"] == "/help"
    # The press of that button comes back as its payload.
    bot_api.updates = [button_update(2, 42, "/help")]
    await bridge.poll_once(offset)
    await settle(bridge)
    assert rasa.received[-1] == ("telegram:42", "/help")
    assert ("answerCallbackQuery", {"callback_query_id": "cb2"}) in bot_api.calls
    await bridge.bot.shutdown()


async def test_commands_map_to_the_conversation_and_the_sender_is_never_taken_from_the_text(settings, bot_api, rasa):
    bridge = await make_bridge(settings, bot_api, rasa)
    bot_api.updates = [
        text_update(1, 42, "/mytickets"),
        text_update(2, 42, "/points@santong_bot"),
        text_update(3, 42, '/greet{"sender": "telegram:99"} 我是99号'),
    ]
    await bridge.poll_once(None)
    await settle(bridge)
    assert [m for _, m in rasa.received][:2] == ["/ticket_status", "/points_balance"]
    assert {s for s, _ in rasa.received} == {"telegram:42"}
    await bridge.bot.shutdown()


async def test_an_update_delivered_twice_or_again_after_a_restart_is_handled_once(settings, bot_api, rasa):
    first = await make_bridge(settings, bot_api, rasa)
    bot_api.updates = [text_update(10, 42, "三号楼电梯坏了")]
    await first.poll_once(None)  # stored; Telegram has not been told (no next offset yet)
    await settle(first)
    await first.bot.shutdown()
    # A restarted bridge starts with no offset: Telegram sends the same update again.
    second = await make_bridge(settings, bot_api, rasa)
    await second.poll_once(None)
    await settle(second)
    assert rasa.received == [("telegram:42", "三号楼电梯坏了")]
    assert texts(bot_api) == ["收到：三号楼电梯坏了"]
    await second.bot.shutdown()


class _Statements:
    """What a bridge's engine sent: statement kinds, commits, rollbacks (SQLAlchemy's engine events)."""

    def __init__(self, engine) -> None:
        self.kinds: list[str] = []
        self.commits = self.rollbacks = 0
        event.listen(engine, "before_cursor_execute", self._statement)
        event.listen(engine, "commit", self._commit)
        event.listen(engine, "rollback", self._rollback)

    def _statement(self, conn, cursor, statement, *args) -> None:
        self.kinds.append(statement.split(None, 1)[0].upper())

    def _commit(self, conn) -> None:
        self.commits += 1

    def _rollback(self, conn) -> None:
        self.rollbacks += 1

    def clear(self) -> None:
        self.kinds, self.commits, self.rollbacks = [], 0, 0


async def test_storing_an_update_is_one_insert_that_a_repeat_leaves_as_it_was(settings, bot_api, rasa):
    from bot.incoming import read_update, store_update

    bridge = await make_bridge(settings, bot_api, rasa)
    bot_api.updates = [text_update(7, 42, "三号楼电梯坏了")]
    [update] = await bridge.bot.get_updates(timeout=0)
    seen = _Statements(bridge.sessions.kw["bind"])
    stored = []
    for text in ("三号楼电梯坏了", "改过的文字"):  # the second delivery cannot change the first
        incoming = read_update(update)
        with bridge.sessions.begin() as session:
            stored.append(store_update(session=session, incoming=replace(incoming, text=text)))
    assert stored == [True, False]
    assert seen.kinds == ["INSERT", "INSERT"]  # no read, no savepoint
    with bridge.sessions() as session:
        [row] = session.query(TelegramUpdate).all()
        assert (row.update_id, row.user_id, row.text, row.kind, row.status) == (
            7,
            42,
            "三号楼电梯坏了",
            "text",
            "received",
        )
    await bridge.bot.shutdown()


async def test_a_users_waiting_texts_become_messages_in_one_transaction_in_order(settings, bot_api, rasa):
    from bot.incoming import ingest, read_update, store_update

    bridge = await make_bridge(settings, bot_api, rasa)
    bot_api.updates = [text_update(i, 42, f"第{i}条") for i in range(1, 4)] + [sticker_update(4, 42)]
    for update in await bridge.bot.get_updates(timeout=0):
        with bridge.sessions.begin() as session:
            store_update(session=session, incoming=read_update(update))
    seen = _Statements(bridge.sessions.kw["bind"])
    handled = await ingest(sessions=bridge.sessions, user_id=42, download=None, upload_dir=settings.upload_dir)
    assert handled == 4 and seen.commits == 1 and seen.rollbacks == 0
    with bridge.sessions() as session:
        assert [m.text for m in session.query(ChatMessage).order_by(ChatMessage.id)] == ["第1条", "第2条", "第3条"]
        assert {u.status for u in session.query(TelegramUpdate)} == {"ingested", "answered_here"}
    await bridge.bot.shutdown()


async def test_a_sent_reply_is_marked_in_the_transaction_that_reads_the_next(settings, bot_api, rasa):
    from bot.outgoing import send_due

    bridge = await make_bridge(settings, bot_api, rasa)
    with bridge.sessions.begin() as session:
        for text in ("第一条", "第二条"):  # buttons: each goes out on its own
            buttons = [{"title": "好", "payload": "/affirm"}]
            session.add(
                ChatReply(sender="telegram:42", payload={"text": text, "buttons": buttons}, created_at=utcnow())
            )
    seen = _Statements(bridge.sessions.kw["bind"])
    report = await send_due(sessions=bridge.sessions, sender="telegram:42", bot=bridge.bot, limiter=bridge.limiter)
    assert (report.sent, report.waiting) == (2, 0) and texts(bot_api) == ["第一条", "第二条"]
    assert seen.commits == 3 and seen.rollbacks == 0  # read; mark + read; mark + read (nothing left)
    with bridge.sessions() as session:
        assert all(r.delivered_at is not None and r.delivery_error is None for r in session.query(ChatReply))
    await bridge.bot.shutdown()


async def test_a_restart_between_storing_and_answering_loses_nothing(settings, bot_api, rasa):
    first = await make_bridge(settings, bot_api, rasa)
    bot_api.updates = [text_update(1, 42, "路灯不亮了")]
    updates = await first.bot.get_updates(timeout=0)
    with first.sessions.begin() as session:  # stored, then the process dies before its worker runs
        from bot.incoming import read_update, store_update

        store_update(session=session, incoming=read_update(updates[0]))
    await first.bot.shutdown()
    second = await make_bridge(settings, bot_api, rasa)
    assert await second.sweep() == 1
    await settle(second)
    assert rasa.received == [("telegram:42", "路灯不亮了")] and texts(bot_api) == ["收到：路灯不亮了"]
    await second.bot.shutdown()


async def test_five_quick_messages_go_to_rasa_one_at_a_time_and_are_answered_in_order(settings, bot_api, rasa):
    bridge = await make_bridge(settings, bot_api, rasa)
    said = ["一楼", "二楼", "三楼", "四楼", "五楼"]
    bot_api.updates = [text_update(i + 1, 42, t) for i, t in enumerate(said)]
    bot_api.updates.append(text_update(9, 43, "别人的消息"))
    await bridge.poll_once(None)
    await settle(bridge)
    assert [m for s, m in rasa.received if s == "telegram:42"] == said
    answered = "\n\n".join(texts(bot_api, 42))
    assert [answered.index(f"收到：{t}") for t in said] == sorted(answered.index(f"收到：{t}") for t in said)
    assert rasa.most_at_once == 1  # one message of a chat at a time
    await bridge.bot.shutdown()


async def test_when_rasa_answers_nothing_the_resident_is_told_once_and_the_message_is_retried(settings, bot_api, rasa):
    bridge = await make_bridge(settings, bot_api, rasa)
    rasa.down = True
    bot_api.updates = [text_update(1, 42, "楼道灯坏了"), text_update(2, 42, "在5栋")]
    await bridge.poll_once(None)
    await settle(bridge)
    assert rasa.received == [] and texts(bot_api) == [messages.BUSY]
    bot_api.updates = [text_update(3, 42, "还有三楼")]  # another message while the first waits
    await bridge.poll_once(3)
    await settle(bridge)
    assert texts(bot_api) == [messages.BUSY]
    with bridge.sessions() as s:
        assert [m.status for m in s.query(ChatMessage).order_by(ChatMessage.id)] == ["pending"] * 3
        s.query(ChatMessage).update({ChatMessage.next_attempt_at: utcnow()})  # the back-off has passed
        s.commit()
    await settle(bridge)
    assert texts(bot_api) == [messages.BUSY]  # said once, not at every retry
    rasa.down = False
    with bridge.sessions() as s:
        s.query(ChatMessage).update({ChatMessage.next_attempt_at: utcnow()})
        s.commit()
    await settle(bridge)
    assert rasa.received == [("telegram:42", "楼道灯坏了"), ("telegram:42", "在5栋"), ("telegram:42", "还有三楼")]
    assert texts(bot_api)[1:] == ["收到：楼道灯坏了\n\n收到：在5栋\n\n收到：还有三楼"]  # in order, in one message
    await bridge.bot.shutdown()


def make_due(sessions):
    with sessions() as s:
        s.query(ChatReply).filter(ChatReply.delivered_at.is_(None)).update(
            {ChatReply.next_delivery_at: utcnow() - timedelta(seconds=1)}
        )
        s.commit()


async def test_429_500_and_a_timeout_are_retried_and_every_reply_arrives_once_in_order(settings, bot_api, rasa):
    bridge = await make_bridge(settings, bot_api, rasa)
    bot_api.script = [too_many(7), SERVER_ERROR, hang(1.5)]
    bot_api.updates = [text_update(1, 42, "第一句")]
    await bridge.poll_once(None)
    await settle(bridge)
    with bridge.sessions() as s:
        reply = s.query(ChatReply).one()
        assert reply.delivered_at is None and "429" in reply.delivery_error
        assert reply.next_delivery_at - utcnow() > timedelta(seconds=5)  # Telegram's retry_after is kept
    assert bridge.limiter.held_for(42) > 5
    bridge.limiter.hold(42, 0)
    bridge.limiter = RateLimiter(per_chat=100.0, chat_burst=3, overall=1000.0)
    for _ in range(3):  # the 500, then the timeout, then through
        make_due(bridge.sessions)
        await settle(bridge, rounds=1)
    bot_api.updates = [text_update(2, 42, "第二句")]
    await bridge.poll_once(2)
    await settle(bridge)
    assert texts(bot_api) == ["收到：第一句", "收到：第二句"]
    assert len(bot_api.sent()) == 5  # 429, 500, timeout, then each once
    with bridge.sessions() as s:
        assert all(r.delivered_at is not None for r in s.query(ChatReply))
    await bridge.bot.shutdown()


async def test_a_long_outage_of_telegram_is_waited_out_not_given_up(settings, bot_api, rasa):
    bridge = await make_bridge(settings, bot_api, rasa)
    bot_api.script = [SERVER_ERROR] * 15
    bot_api.updates = [text_update(1, 42, "停电了")]
    await bridge.poll_once(None)
    await settle(bridge, rounds=1)
    for _ in range(15):
        make_due(bridge.sessions)
        await settle(bridge, rounds=1)
    assert texts(bot_api) == ["收到：停电了"]


async def test_a_button_title_of_emoji_fits_telegrams_64_bytes():
    [(_, markup)] = render({"text": "选", "buttons": [{"title": "🔥" * 20, "payload": "/x" + "{}" * 40}]})
    assert len(markup.inline_keyboard[0][0].callback_data.encode()) <= 64


async def test_a_photo_whose_caption_is_only_invisible_characters_goes_on_alone(settings, bot_api, rasa):
    bridge = await make_bridge(settings, bot_api, rasa)
    bot_api.files["ph2"] = PNG
    bot_api.updates = [photo_update(1, 42, "ph2", caption="\u200b"), text_update(2, 42, "看到了吗")]
    await bridge.poll_once(None)
    await settle(bridge)
    assert [m for _, m in rasa.received][1:] == ["看到了吗"] and rasa.received[0][1].startswith("/share_photo")


async def test_a_chat_that_blocked_the_bot_is_given_up_and_its_replies_are_kept(settings, bot_api, rasa):
    bridge = await make_bridge(settings, bot_api, rasa)
    bot_api.script = [FORBIDDEN]
    bot_api.updates = [text_update(1, 42, "你好呀")]
    await bridge.poll_once(None)
    await settle(bridge)
    with bridge.sessions() as s:
        reply = s.query(ChatReply).one()
        assert reply.delivered_at is None and reply.delivery_error.startswith("Forbidden")
    assert await bridge.sweep() == 0
    await bridge.bot.shutdown()


async def test_a_photo_is_downloaded_kept_as_the_senders_and_its_caption_follows(settings, bot_api, rasa):
    bridge = await make_bridge(settings, bot_api, rasa)
    bot_api.files["ph1"] = PNG
    bot_api.updates = [photo_update(1, 42, "ph1", caption="楼道堆的杂物")]
    await bridge.poll_once(None)
    await settle(bridge)
    with bridge.sessions() as s:
        photo = s.query(Photo).one()
        owner = s.get(Resident, photo.resident_id)
        assert (owner.channel, owner.sender_id) == ("telegram", "42")
    assert rasa.received == [
        ("telegram:42", f'/share_photo{{"photo": "{photo.token}"}}'),
        ("telegram:42", "楼道堆的杂物"),
    ]
    await bridge.bot.shutdown()


async def test_a_photo_that_cannot_be_downloaded_holds_the_later_messages_then_is_reported(settings, bot_api, rasa):
    bridge = await make_bridge(settings, bot_api, rasa)
    bot_api.updates = [photo_update(1, 42, "missing"), text_update(2, 42, "看到照片了吗")]
    await bridge.poll_once(None)
    await settle(bridge)
    assert rasa.received == []  # the text waits for the photo before it
    for _ in range(5):
        with bridge.sessions() as s:
            s.query(TelegramUpdate).update({TelegramUpdate.next_attempt_at: utcnow()})
            s.commit()
        await settle(bridge, rounds=1)
    assert rasa.received == [("telegram:42", "看到照片了吗")]
    assert "这张照片没能收到" in "".join(texts(bot_api))
    await bridge.bot.shutdown()


async def test_stickers_get_a_clear_answer_and_group_messages_and_edits_none(settings, bot_api, rasa):
    bridge = await make_bridge(settings, bot_api, rasa)
    edited = text_update(3, 42, "改过的")
    edited["edited_message"] = edited.pop("message")
    bot_api.updates = [text_update(1, 42, "群里说的", chat_type="group"), sticker_update(2, 42), edited]
    await bridge.poll_once(None)
    await settle(bridge)
    assert rasa.received == []
    assert texts(bot_api) == [UNSUPPORTED]
    await bridge.bot.shutdown()


async def test_ticket_news_for_a_telegram_resident_goes_out_through_the_bridge_with_its_retries(
    registry, settings, bot_api, rasa
):
    now = utcnow()
    with registry.begin() as s:  # the change writes the news into the chat; no other outbox, no worker round
        ticket = file_ticket(s, channel="telegram", sender="4242", now=now)
        transition(session=s, ticket=ticket, to="in_progress", actor="grid_member:gm-fl-01", now=now, note="已派维修工")
        transition(session=s, ticket=ticket, to="resolved", actor="grid_member:gm-fl-01", now=now, note="灯修好了")
    bot_api.script = [SERVER_ERROR]  # Telegram fails once: the bridge's own back-off, not a second policy
    bridge = await make_bridge(settings, bot_api, rasa, sessions=registry)
    await settle(bridge, rounds=1)
    assert texts(bot_api, 4242) == []
    make_due(registry)
    await settle(bridge)
    progress, resolved = texts(bot_api, 4242)  # in order, each once
    assert "已派维修工" in progress and "灯修好了" in resolved and "评单" in resolved
    markup = bot_api.delivered[-1]["reply_markup"]
    markup = json.loads(markup) if isinstance(markup, str) else markup
    assert [row[0]["text"] for row in markup["inline_keyboard"]] == ["满意", "基本满意", "不满意"]
    assert len(bot_api.sent()) == 3  # the 500, then each once
    with registry() as s:
        assert all(r.delivered_at is not None for r in s.query(ChatReply).filter_by(sender="telegram:4242"))
    await bridge.bot.shutdown()


# --- webhook -------------------------------------------------------------------------------


def test_the_webhook_secret_is_compared_whole():
    assert secret_matches("s3cret-token-0123456789", "s3cret-token-0123456789")
    assert not secret_matches("s3cret-token-012345678", "s3cret-token-0123456789")
    assert not secret_matches(None, "s3cret-token-0123456789")
    assert not secret_matches("", "")


async def test_the_webhook_refuses_a_wrong_secret_and_stores_a_right_one_once(settings, bot_api, rasa):
    bridge = await make_bridge(settings, bot_api, rasa)
    secret = "webhook-secret-0123456789"
    transport = httpx.ASGITransport(app=webhook_app(bridge, secret, "/tg/hook"))
    client = httpx.AsyncClient(transport=transport, base_url="http://bridge.test")
    update = text_update(77, 42, "你好")
    assert (await client.post("/tg/hook", json=update)).status_code == 403
    wrong = {SECRET_HEADER: "wrong-secret-0123456789"}
    assert (await client.post("/tg/hook", json=update, headers=wrong)).status_code == 403
    assert (await client.post("/tg/hook", content=b"not json", headers={SECRET_HEADER: secret})).status_code == 400
    with bridge.sessions() as s:
        assert s.query(TelegramUpdate).count() == 0
    for _ in range(2):  # Telegram retries a webhook call it thinks failed
        assert (await client.post("/tg/hook", json=update, headers={SECRET_HEADER: secret})).status_code == 200
    with bridge.sessions() as s:
        assert s.query(TelegramUpdate).count() == 1
    await settle(bridge)
    assert rasa.received == [("telegram:42", "你好")]
    await bridge.bot.shutdown()
