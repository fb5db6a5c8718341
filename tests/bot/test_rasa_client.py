"""The Rasa client against loopback stand-ins for Rasa: servers in turn, a refused one skipped, failures kept."""

from __future__ import annotations

import asyncio
import json

import httpx
import jwt
import pytest

from backend.connection_pool import connection_pool
from backend.rasa_auth import jwt_secret
from backend.rasa_client import RasaClient, RasaUnavailable
from tests.rasa_stub import RasaStub, refused_url


class Server:
    """One Rasa server: what it received, and whether it keeps the caller waiting or answers oddly."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.seen: list[dict] = []
        self.authorization: list[str | None] = []
        self.hang = False
        self.answer: httpx.Response | None = None
        self.stub = RasaStub(self.handle)

    async def handle(self, request: httpx.Request) -> httpx.Response:
        self.seen.append({"path": request.url.path, "query": dict(request.url.params), **json.loads(request.content)})
        self.authorization.append(request.headers.get("authorization"))
        if self.hang:
            await asyncio.sleep(2)
        if self.answer is not None:
            return self.answer
        return httpx.Response(200, json=[{"recipient_id": "web:a", "text": f"{self.name} 收到"}])


@pytest.fixture()
async def connect():
    """RasaClient, closed at the end of the test however it ends."""
    made: list[RasaClient] = []

    def make(urls: str, **kwargs) -> RasaClient:
        made.append(RasaClient(urls, **kwargs))
        return made[-1]

    yield make
    for client in made:
        await client.aclose()


@pytest.fixture()
def servers():
    made = [Server("rasa-a"), Server("rasa-b")]
    yield made
    for server in made:
        server.stub.close()


async def test_messages_go_to_the_servers_in_turn(servers, connect):
    a, b = servers
    rasa = connect(f"{a.stub.url}, {b.stub.url}/")
    answers = [(await rasa.send("web:a", f"第{i}条"))[0]["text"] for i in range(4)]
    assert answers == ["rasa-a 收到", "rasa-b 收到", "rasa-a 收到", "rasa-b 收到"]
    assert [m["message"] for m in a.seen] == ["第0条", "第2条"] and a.seen[0]["sender"] == "web:a"
    assert a.seen[0]["path"] == "/webhooks/santong/webhook"


async def test_a_server_that_refuses_the_connection_is_skipped(servers, connect):
    _, b = servers
    rasa = connect(f"{refused_url()},{b.stub.url}")
    for i in range(3):
        assert (await rasa.send("web:a", f"第{i}条"))[0]["text"] == "rasa-b 收到"
    assert [m["message"] for m in b.seen] == ["第0条", "第1条", "第2条"]


async def test_all_down_is_unavailable_and_a_timeout_is_not_sent_elsewhere(servers, connect):
    a, b = servers
    rasa = connect(f"{refused_url()},{refused_url()}")
    with pytest.raises(RasaUnavailable, match="cannot reach Rasa"):
        await rasa.send("web:a", "电梯坏了")
    a.hang = True  # it may have handled the message: not sent a second time to rasa-b
    rasa = connect(f"{a.stub.url},{b.stub.url}", timeout=0.3)
    with pytest.raises(RasaUnavailable, match="cannot reach Rasa"):
        await rasa.send("web:a", "电梯坏了")
    assert len(a.seen) == 1 and b.seen == []


@pytest.mark.parametrize(
    "answer, refusal",
    [
        (httpx.Response(200, json=[]), "no messages"),
        (httpx.Response(503, json={"error": "tracker store down"}), "HTTP 503"),
        (httpx.Response(200, content=b"<html>proxy error</html>"), "not JSON"),
        (httpx.Response(200, json={"text": "not a list"}), "no messages"),
    ],
)
async def test_an_answer_that_is_no_answer_keeps_the_message(servers, answer, refusal, connect):
    a, _ = servers
    a.answer = answer
    rasa = connect(a.stub.url)
    with pytest.raises(RasaUnavailable, match=refusal):
        await rasa.send("web:a", "路灯不亮")


async def test_parse_proves_the_token_in_a_header_and_returns_rasas_parse(servers, connect):
    a, _ = servers
    a.answer = httpx.Response(200, json={"intent": {"name": "streetlight", "confidence": 0.9}, "entities": []})
    rasa = connect(a.stub.url, token="rasa-api-token")
    assert (await rasa.parse("路灯不亮"))["intent"]["name"] == "streetlight"
    assert a.seen == [{"path": "/model/parse", "query": {}, "text": "路灯不亮"}]  # no token in the URL
    scheme, _, signed = (a.authorization[0] or "").partition(" ")
    claims = jwt.decode(signed, jwt_secret("rasa-api-token"), algorithms=["HS256"])  # what Rasa's --jwt-secret checks
    assert scheme == "Bearer" and claims["user"]["role"] == "admin"
    assert "rasa-api-token" not in a.authorization[0]
    a.answer = httpx.Response(401, json={"message": "no token"})
    with pytest.raises(RasaUnavailable, match="HTTP 401"):
        await rasa.parse("路灯不亮")


async def test_connections_are_kept_between_messages(servers, connect):
    a, _ = servers
    rasa = connect(a.stub.url)
    for i in range(5):
        await rasa.send("web:a", f"第{i}条")
    assert len(connection_pool()._conns) == 1  # one kept connection


def test_no_url_is_refused():
    with pytest.raises(ValueError, match="RASA_URL"):
        RasaClient(" , ")
