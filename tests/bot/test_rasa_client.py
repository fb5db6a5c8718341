"""The Rasa client spreads messages over several servers and skips one that refuses the connection."""

from __future__ import annotations

import httpx
import pytest

from bot.rasa_client import RasaClient, RasaUnavailable


class Servers:
    """Rasa servers behind a mock transport: which answered what, and which are down."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []
        self.down: set[str] = set()
        self.hang: set[str] = set()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        if host in self.down:
            raise httpx.ConnectError("connection refused", request=request)
        if host in self.hang:
            raise httpx.ReadTimeout("no answer in time", request=request)
        message = request.read().decode()
        self.seen.append((host, message))
        return httpx.Response(200, json=[{"recipient_id": "web:a", "text": f"{host} 收到"}])


def client(servers: Servers, urls: str) -> RasaClient:
    return RasaClient(urls, transport=httpx.MockTransport(servers))


async def test_messages_go_to_the_servers_in_turn():
    servers = Servers()
    rasa = client(servers, "http://rasa-a:5005, http://rasa-b:5005/")
    answers = [(await rasa.send("web:a", f"第{i}条"))[0]["text"] for i in range(4)]
    assert answers == ["rasa-a 收到", "rasa-b 收到", "rasa-a 收到", "rasa-b 收到"]
    await rasa.aclose()


async def test_a_server_that_refuses_the_connection_is_skipped():
    servers = Servers()
    servers.down.add("rasa-a")
    rasa = client(servers, "http://rasa-a:5005,http://rasa-b:5005")
    for i in range(3):
        assert (await rasa.send("web:a", f"第{i}条"))[0]["text"] == "rasa-b 收到"
    assert [host for host, _ in servers.seen] == ["rasa-b"] * 3
    await rasa.aclose()


async def test_all_down_is_unavailable_and_a_timeout_is_not_sent_elsewhere():
    servers = Servers()
    servers.down.update({"rasa-a", "rasa-b"})
    rasa = client(servers, "http://rasa-a:5005,http://rasa-b:5005")
    with pytest.raises(RasaUnavailable, match="cannot reach Rasa"):
        await rasa.send("web:a", "电梯坏了")
    servers.down.clear()
    servers.hang.add("rasa-a")  # it may have handled the message: not sent a second time to rasa-b
    rasa = client(servers, "http://rasa-a:5005,http://rasa-b:5005")
    with pytest.raises(RasaUnavailable):
        await rasa.send("web:a", "电梯坏了")
    assert servers.seen == []
    await rasa.aclose()


def test_no_url_is_refused():
    with pytest.raises(ValueError, match="RASA_URL"):
        RasaClient(" , ")
