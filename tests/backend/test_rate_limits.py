"""Per-sender limits on the public endpoints: a burst passes, a flood gets 429 with Retry-After."""

from __future__ import annotations

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from backend.models import ChatMessage
from backend.settings import load_settings
from backend.web.app import create_app
from backend.web.rate_limits import SenderLimiter
from bot.rasa_client import RasaClient


def test_a_bucket_allows_the_burst_then_the_rate():
    now = [0.0]
    limiter = SenderLimiter(per_minute=30, burst=3, clock=lambda: now[0])
    assert [limiter.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.take("a") == pytest.approx(2.0)  # one token every 2 s
    assert limiter.take("b") == 0.0  # another caller has its own bucket
    now[0] = 2.0
    assert limiter.take("a") == 0.0


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

    with TestClient(app) as client:
        app.state.rasa = RasaClient("http://rasa.test", transport=httpx.MockTransport(rasa))
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


def test_the_limits_can_be_turned_off(database_url, tmp_path):
    settings = load_settings(
        {"DATABASE_URL": database_url, "SECRET_KEY": "k", "RASA_TOKEN": "t", "RATE_LIMIT_PER_MINUTE": "0"}
    )
    assert create_app(settings).state.rate_limits == {}
