"""Per-sender limits on the public endpoints: a burst passes, a flood gets 429 with Retry-After."""

from __future__ import annotations

import asyncio
import inspect
import os
import uuid

import httpx
import pytest
import redis
import redis.exceptions
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from backend.models import ChatMessage
from backend.rasa_client import RasaClient
from backend.settings import ConfigError, load_settings
from backend.web.app import create_app
from backend.web.limiters import LoopRedis, SenderLimiter, SharedSenderLimiter
from backend.web.rate_limits import limit
from tests.rasa_stub import RasaStub


async def test_a_bucket_allows_the_burst_then_the_rate():
    now = [0.0]
    limiter = SenderLimiter(per_minute=30, burst=3, clock=lambda: now[0])
    assert [await limiter.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert await limiter.take("a") == pytest.approx(2.0)  # one token every 2 s
    assert await limiter.take("b") == 0.0  # another caller has its own bucket
    now[0] = 2.0
    assert await limiter.take("a") == 0.0


@pytest.fixture()
def client(database_url, tmp_path):
    settings = load_settings(
        {
            "DATABASE_URL": database_url,
            "SECRET_KEY": "test-secret-key",
            "RASA_TOKEN": "t",
            "MODEL_DIR": str(tmp_path / "models"),
            "UPLOAD_DIR": str(tmp_path / "uploads"),
            "RATE_LIMIT_PER_MINUTE": "6",
        }
    )
    app = create_app(settings)

    def rasa(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=[{"recipient_id": "x", "text": "收到"}])

    with RasaStub(rasa) as stub, TestClient(app) as client:
        app.state.rasa = RasaClient(stub.url)
        yield client


def test_a_flooding_visitor_gets_429_in_chinese_and_nothing_of_the_flood_is_stored(client):
    headers = {"X-Requested-With": "santong"}
    client.get("/")  # the visitor cookie
    codes = [
        client.post("/api/chat/messages", json={"text": f"第{i}条"}, headers=headers).status_code for i in range(24)
    ]
    assert codes[:20] == [200] * 20 and set(codes[20:]) == {429}
    refused = client.post("/api/chat/messages", json={"text": "再来"}, headers=headers)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    assert "发得太快" in refused.json()["detail"] and "输入框" in refused.json()["detail"]
    with client.app.state.sessions() as s:
        assert s.scalar(select(func.count()).select_from(ChatMessage)) == 20  # only what was taken

    other = TestClient(client.app)
    other.get("/")
    assert other.post("/api/chat/messages", json={"text": "你好"}, headers=headers).status_code == 200


REDIS_URL = os.environ.get("E2E_REDIS_URL", "")
needs_redis = pytest.mark.skipif(not REDIS_URL, reason="the production profile's Redis (make pytest-production)")


@needs_redis
async def test_web_processes_sharing_redis_share_each_callers_bucket():
    """Two web processes (two limiters on one Redis): a caller's burst is spent once between them, not twice."""
    prefix = f"test-rate-{uuid.uuid4().hex}"
    redis.Redis.from_url(REDIS_URL).script_flush()  # the first call finds its script missing and sends it whole
    one, two = (
        SharedSenderLimiter(LoopRedis(REDIS_URL), scope="chat", per_minute=6, burst=3, prefix=prefix) for _ in range(2)
    )
    assert [await one.take("visitor:a"), await two.take("visitor:a"), await one.take("visitor:a")] == [0.0] * 3
    assert 9.0 < await two.take("visitor:a") <= 10.0  # one token every 10 s, across both processes
    assert await one.take("visitor:b") == 0.0  # another caller has its own bucket
    ttl = redis.Redis.from_url(REDIS_URL).ttl(f"{prefix}:chat:visitor:a")
    assert 0 < ttl <= 31  # forgotten once it would be full again


@needs_redis
def test_a_limiter_used_from_several_event_loops_gets_a_client_on_each():
    """A test client (or any host) may run the app on a new loop: connections of a closed loop are not reused.

    Reused, they fail, the limiter rests and lets the fourth message through.
    """
    limiter = SharedSenderLimiter(LoopRedis(REDIS_URL), scope="chat", per_minute=6, burst=3, prefix=uuid.uuid4().hex)
    waits = [asyncio.run(limiter.take("visitor:a")) for _ in range(4)]
    assert waits[:3] == [0.0] * 3 and waits[3] > 9.0


async def test_with_redis_unreachable_the_message_goes_through_and_it_is_logged(caplog):
    dead = LoopRedis("redis://127.0.0.1:1/0")
    limiter = SharedSenderLimiter(dead, scope="chat", per_minute=6, burst=1)
    assert [await limiter.take("visitor:a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert [r.message for r in caplog.records].count(caplog.records[0].message) == 1  # said once, not per message
    assert "Redis unavailable" in caplog.records[0].message


async def test_after_a_redis_failure_it_is_not_asked_again_for_a_while(monkeypatch):
    """A Redis that drops packets would cost every message its 0.5 s timeout; one failure rests it for 5 s."""

    class Unreachable:
        calls = 0

        def client(self):
            return self

        async def evalsha(self, *args):
            Unreachable.calls += 1
            raise redis.exceptions.TimeoutError("timed out")

    now = [100.0]
    monkeypatch.setattr("backend.web.limiters.time.monotonic", lambda: now[0])
    limiter = SharedSenderLimiter(Unreachable(), scope="chat", per_minute=6, burst=1)
    assert [await limiter.take("visitor:a") for _ in range(5)] == [0.0] * 5 and Unreachable.calls == 1
    now[0] += 5.1
    assert await limiter.take("visitor:a") == 0.0 and Unreachable.calls == 2


def test_photo_and_api_limits_follow_the_chat_limit_rounded_down(database_url, tmp_path):
    settings = load_settings(
        {"DATABASE_URL": database_url, "SECRET_KEY": "k", "RASA_TOKEN": "t", "RATE_LIMIT_PER_MINUTE": "20"}
    )
    limits = create_app(settings).state.rate_limits
    per_minute = {scope: round(limiter.rate * 60, 6) for scope, limiter in limits.items()}
    assert per_minute == {
        "chat": 20,
        "photos": 6,
        "chat_address": 60,
        "history": 20,
        "visitors": 6,
        "triage": 80,
        "open311": 80,
    }


@needs_redis
def test_with_redis_url_set_the_app_limits_through_redis(database_url, tmp_path):
    settings = load_settings(
        {"DATABASE_URL": database_url, "SECRET_KEY": "k", "RASA_TOKEN": "t", "RATE_LIMIT_PER_MINUTE": "6",
         "REDIS_URL": REDIS_URL}
    )  # fmt: skip
    limits = create_app(settings).state.rate_limits
    assert {type(v) for v in limits.values()} == {SharedSenderLimiter} and set(limits) == {
        "chat",
        "photos",
        "chat_address",
        "history",
        "visitors",
        "triage",
        "open311",
    }


def test_the_limits_can_be_turned_off(database_url, tmp_path):
    settings = load_settings(
        {"DATABASE_URL": database_url, "SECRET_KEY": "k", "RASA_TOKEN": "t", "RATE_LIMIT_PER_MINUTE": "0"}
    )
    assert create_app(settings).state.rate_limits == {}


def test_the_check_runs_on_the_event_loop_not_in_a_worker_thread():
    """FastAPI runs a plain-function dependency in its thread pool: a thread hand-over for every message."""
    assert all(inspect.iscoroutinefunction(limit(scope)) for scope in ("chat", "photos", "triage", "open311"))


def _cookies_handed_out(app, address: str, tries: int) -> int:
    return sum("sst_visitor" in TestClient(app, client=(address, 50000)).get("/").cookies for _ in range(tries))


def test_loopback_is_limited_per_address_like_any_other(client):
    """The probe of issue 26 ran on 127.0.0.1: this machine gets no free pass unless configured."""
    assert _cookies_handed_out(client.app, "127.0.0.1", 15) <= 11


def test_an_exempt_address_is_not_limited_per_address_but_each_visitor_still_is(database_url, tmp_path):
    """RATE_LIMIT_EXEMPT (a load test from this machine) skips the per-address buckets, never the visitor's own."""
    settings = load_settings(
        {"DATABASE_URL": database_url, "SECRET_KEY": "k", "RASA_TOKEN": "t", "RATE_LIMIT_PER_MINUTE": "6",
         "UPLOAD_DIR": str(tmp_path / "uploads"), "RATE_LIMIT_EXEMPT": "127.0.0.0/8"}
    )  # fmt: skip
    with TestClient(create_app(settings)) as started:
        app = started.app
        assert _cookies_handed_out(app, "127.0.0.1", 15) == 15
        assert _cookies_handed_out(app, "192.0.2.7", 15) <= 11  # anyone else still is
        here = TestClient(app, client=("127.0.0.1", 50000))
        here.get("/")
        codes = [
            here.post("/api/chat/messages", json={"text": f"{i}"}, headers={"X-Requested-With": "santong"}).status_code
            for i in range(22)
        ]
        assert codes[:20] == [200] * 20 and set(codes[20:]) == {429}  # the visitor's own bucket still holds


def test_an_exempt_entry_that_is_no_address_is_refused_at_start(database_url):
    with pytest.raises(ConfigError, match="RATE_LIMIT_EXEMPT"):
        load_settings(
            {"DATABASE_URL": database_url, "SECRET_KEY": "k", "RASA_TOKEN": "t", "RATE_LIMIT_EXEMPT": "nginx"}
        )
