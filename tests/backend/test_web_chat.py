"""The chat endpoints against a real database, with Rasa's HTTP answers faked at the transport."""

import asyncio
import gc
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, select

from backend.models.chat import ANSWERED, PENDING, ChatMessage
from backend.rasa_client import RasaClient
from backend.web.app import create_app
from backend.web.visitor_cookie import COOKIE
from tests.rasa_stub import RasaStub

HEADERS = {"X-Requested-With": "santong"}


class FakeRasa:
    """Answers like Rasa's REST webhook; ``down`` mimics the action server being down (200, [])."""

    def __init__(self):
        self.down = False
        self.requests: list[dict] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = __import__("json").loads(request.content)
        self.requests.append(body)
        if self.down:
            return httpx.Response(200, json=[])
        return httpx.Response(
            200,
            json=[
                {
                    "recipient_id": body["sender"],
                    "text": f"您说的是：{body['message']}",
                    "buttons": [{"title": "你能做什么？", "payload": "/help"}],
                }
            ],
        )


@pytest.fixture()
def rasa():
    return FakeRasa()


@pytest.fixture()
def client(settings, rasa):
    app = create_app(settings)
    with RasaStub(rasa) as stub, TestClient(app) as client:
        app.state.rasa = RasaClient(stub.url)
        yield client


def test_page_is_chinese_and_issues_a_signed_visitor_cookie(client):
    page = client.get("/")
    assert page.status_code == 200
    assert "三事通" in page.text and 'lang="zh-CN"' in page.text
    assert COOKIE in page.cookies


def test_message_goes_to_rasa_as_the_cookie_visitor_with_buttons_back(client, rasa):
    client.get("/")
    r = client.post("/api/chat/messages", json={"text": "你好"}, headers=HEADERS)
    assert r.status_code == 200
    body = r.json()
    assert body["pending"] == 0 and body["notice"] is None
    assert body["replies"][0]["text"] == "您说的是：你好"
    assert body["replies"][0]["buttons"] == [{"title": "你能做什么？", "payload": "/help"}]
    sender = rasa.requests[0]["sender"]
    assert sender.startswith("web:") and len(sender) > 20
    client.post("/api/chat/messages", json={"text": "再问一句"}, headers=HEADERS)
    assert rasa.requests[1]["sender"] == sender


def test_a_forged_cookie_is_not_trusted(client, rasa):
    client.cookies.set(COOKIE, "web-visitor-i-made-up")
    client.post("/api/chat/messages", json={"text": "你好"}, headers=HEADERS)
    assert "i-made-up" not in rasa.requests[0]["sender"]


def test_without_the_same_origin_header_nothing_is_stored(client, sessions):
    r = client.post("/api/chat/messages", json={"text": "你好"})
    assert r.status_code == 403
    with sessions() as s:
        assert s.scalars(select(ChatMessage)).all() == []


@pytest.mark.parametrize("text", ["", "   ", "长" * 2001])
def test_empty_or_huge_message_gets_a_polite_chinese_answer(client, text):
    r = client.post("/api/chat/messages", json={"text": text}, headers=HEADERS)
    assert r.status_code == 422
    assert any(word in r.json()["detail"] for word in ("还没有输入", "太长"))


def test_rasa_silent_means_busy_notice_and_the_message_kept(client, rasa, sessions):
    rasa.down = True
    r = client.post("/api/chat/messages", json={"text": "3号楼电梯坏了"}, headers=HEADERS)
    assert r.status_code == 200
    body = r.json()
    assert body["pending"] == 1 and "系统繁忙" in body["notice"] and body["replies"] == []
    with sessions() as s:
        [m] = s.scalars(select(ChatMessage)).all()
        assert m.status == PENDING and m.text == "3号楼电梯坏了"
    history = client.get("/api/chat/history").json()
    assert history["items"][0]["pending"] is True and "系统繁忙" in history["notice"]


def test_a_message_is_stored_and_answered_in_two_transactions_and_no_lock_is_kept(client, sessions):
    client.get("/")
    engine = client.app.state.engine
    begun: list[int] = []

    def count(conn):
        begun.append(1)

    def send(text: str) -> int:
        begun.clear()
        event.listen(engine, "begin", count)
        try:
            r = client.post("/api/chat/messages", json={"text": text}, headers=HEADERS)
        finally:
            event.remove(engine, "begin", count)
        assert r.status_code == 200 and r.json()["replies"][-1]["text"] == f"您说的是：{text}"
        return len(begun)

    assert send("你好") == 4  # the first: the cookie looked up, then the visitor's record and resident made
    assert send("路灯不亮") == 2  # stored and taken in one, answered and read in the other
    gc.collect()
    assert len(client.app.state.sender_locks) == 0  # the visitor's lock went with their last request
    with sessions() as s:
        messages = s.scalars(select(ChatMessage)).all()
        assert [m.status for m in messages] == [ANSWERED, ANSWERED] and messages[-1].attempts == 1


def _within(seconds: float, condition) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_a_message_sent_while_the_last_is_with_rasa_is_kept_at_once_and_answered_after_it(settings):
    received: list[str] = []
    release = threading.Event()

    async def slow_rasa(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        received.append(body["message"])
        while body["message"] == "第一条" and not release.is_set():
            await asyncio.sleep(0.01)
        return httpx.Response(200, json=[{"recipient_id": body["sender"], "text": f"收到：{body['message']}"}])

    app = create_app(settings)
    with RasaStub(slow_rasa) as stub, TestClient(app) as client:
        app.state.rasa = RasaClient(stub.url)
        client.get("/")

        def kept() -> list[str]:
            with app.state.sessions() as s:
                return [m.text for m in s.scalars(select(ChatMessage).order_by(ChatMessage.id))]

        with ThreadPoolExecutor(2) as pool:
            first = pool.submit(client.post, "/api/chat/messages", json={"text": "第一条"}, headers=HEADERS)
            assert _within(10, lambda: received == ["第一条"])
            second = pool.submit(client.post, "/api/chat/messages", json={"text": "第二条"}, headers=HEADERS)
            # The first is still with Rasa, and the second is already kept.
            assert _within(10, lambda: kept() == ["第一条", "第二条"]) and received == ["第一条"]
            release.set()
            answers = [first.result().json(), second.result().json()]
    assert received == ["第一条", "第二条"]
    assert [r["text"] for r in answers[0]["replies"]] == ["收到：第一条", "收到：第二条"]
    assert answers[1]["pending"] == 0 and answers[1]["replies"][-1]["text"] == "收到：第二条"
    gc.collect()
    assert len(app.state.sender_locks) == 0


def test_updates_only_show_this_visitors_replies(client, settings):
    client.post("/api/chat/messages", json={"text": "我的消息"}, headers=HEADERS)
    other = TestClient(client.app)
    assert other.get("/api/chat/updates").json() == {"replies": [], "pending": 0, "notice": None}


def test_injection_strings_are_stored_and_returned_verbatim_as_data(client, rasa):
    evil = "<script>alert(1)</script>'; DROP TABLE chat_messages;--"
    r = client.post("/api/chat/messages", json={"text": evil}, headers=HEADERS)
    assert r.status_code == 200
    assert r.json()["replies"][0]["text"] == f"您说的是：{evil}"
    assert client.get("/api/chat/history").json()["items"][0]["text"] == evil


def test_health_and_console_and_api_docs(client):
    health = client.get("/healthz")  # only the web app runs here: its database is up, Rasa is not
    parts = {part["name"]: part["state"] for part in health.json()["parts"]}
    assert health.status_code == 503 and parts["database"] == "ok" and parts["rasa"] == "down"
    assert client.get("/console", follow_redirects=False).headers["location"] == "/console/login?next=/console"
    assert client.get("/docs").status_code == 200
    assert "/api/chat/messages" in client.get("/openapi.json").json()["paths"]
