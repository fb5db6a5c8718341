"""Rasa's calls to the action server reuse connections and send what Rasa's own calls send.

Against a real aiohttp server on a loopback port, with Rasa's
``EndpointConfig.request`` unchanged and only its session replaced.
"""

from __future__ import annotations

import json
import math

import pytest
from aiohttp import web
from rasa.utils.endpoints import EndpointConfig

from backend.connection_pool import close_connection_pool
from backend.rasa_ext.patches import connections as rasa_connections


class ActionServer:
    """Records each request's body, headers, query and the client port it came from."""

    def __init__(self) -> None:
        self.seen: list[dict] = []
        self.runner: web.AppRunner | None = None
        self.port = 0

    async def handle(self, request: web.Request) -> web.Response:
        peer = request.transport.get_extra_info("peername") if request.transport else None
        self.seen.append(
            {
                "body": await request.text(),
                "headers": dict(request.headers),
                "query": dict(request.query),
                "port": peer[1] if peer else None,
            }
        )
        return web.json_response({"events": [], "responses": [{"text": "好"}]})

    async def start(self, port: int = 0) -> None:
        app = web.Application()
        app.router.add_post("/webhook", self.handle)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", port)
        await site.start()
        self.port = self.runner.addresses[0][1]

    async def stop(self) -> None:
        assert self.runner is not None
        await self.runner.cleanup()


@pytest.fixture
async def server():
    running = ActionServer()
    await running.start()
    yield running
    await running.stop()
    await close_connection_pool()


def _endpoint(server: ActionServer, **kwargs) -> EndpointConfig:
    return EndpointConfig(f"http://127.0.0.1:{server.port}/webhook", **kwargs)


async def test_rasas_own_session_opens_a_connection_per_call(server, monkeypatch):
    """The behaviour replaced: five calls, five connections."""
    endpoint = _endpoint(server)
    for _ in range(5):
        await endpoint.request(json={"next_action": "action_x"}, method="post")
    assert len({s["port"] for s in server.seen}) == 5


async def test_calls_share_one_connection(server, monkeypatch):
    monkeypatch.setattr(EndpointConfig, "session", rasa_connections.endpoint_session)
    endpoint = _endpoint(server)
    answers = [await endpoint.request(json={"next_action": "action_x"}, method="post") for _ in range(5)]
    assert answers == [{"events": [], "responses": [{"text": "好"}]}] * 5
    assert len({s["port"] for s in server.seen}) == 1


async def test_headers_authentication_and_token_are_rasas(server, monkeypatch):
    auth = {"username": "u", "password": "p"}
    endpoint = _endpoint(server, headers={"X-Site": "santong"}, basic_auth=auth, token="t0k")
    await endpoint.request(json={"a": 1}, method="post")
    monkeypatch.setattr(EndpointConfig, "session", rasa_connections.endpoint_session)
    await endpoint.request(json={"a": 1}, method="post")
    rasas, ours = server.seen
    for key in ("X-Site", "Authorization", "Content-Type"):
        assert ours["headers"][key] == rasas["headers"][key]
    assert ours["query"] == rasas["query"] == {"token": "t0k"}


async def test_the_body_holds_the_same_json_as_rasas(server, monkeypatch):
    tracker = {
        "sender_id": "web:6f1c",
        "latest_message": {"text": '和园新村4号楼门口路灯坏了 😡 "急" \\ </script>', "confidence": 0.1 + 0.2},
        "events": [{"event": "slot", "name": "report_place", "value": None, "timestamp": 1764750000.123456}],
        "tiny": 1e-300,
        "big": 2**70,
        "flags": [True, False, None],
    }
    await _endpoint(server).request(json=tracker, method="post")
    monkeypatch.setattr(EndpointConfig, "session", rasa_connections.endpoint_session)
    await _endpoint(server).request(json=tracker, method="post")
    rasas, ours = (json.loads(s["body"]) for s in server.seen)
    assert ours == rasas == json.loads(json.dumps(tracker))


def test_numbers_at_the_edges_are_encoded_as_json_does():
    """NaN and infinity as Python's json writes them; integers beyond 64 bits exactly; floats round-trip."""
    for value in ({"n": 2**70}, [-(2**64) - 1], [0.1 + 0.2, 1e-300, 1764750000.123456]):
        assert json.loads(rasa_connections.encode_json(value)) == value
    assert json.loads(rasa_connections.encode_json([math.inf, -math.inf])) == [math.inf, -math.inf]
    assert math.isnan(json.loads(rasa_connections.encode_json({"c": math.nan}))["c"])


def test_what_neither_can_encode_is_refused_as_json_refuses():
    with pytest.raises(TypeError):
        rasa_connections.encode_json({"slot": {1, 2}})


async def test_a_restarted_action_server_is_reached_again(server, monkeypatch):
    """An action server killed and restarted (its old connection gone): the next call opens a new one."""
    monkeypatch.setattr(EndpointConfig, "session", rasa_connections.endpoint_session)
    endpoint = _endpoint(server)
    await endpoint.request(json={"n": 1}, method="post")
    port = server.port
    await server.stop()
    await server.start(port)
    assert await endpoint.request(json={"n": 2}, method="post") == {"events": [], "responses": [{"text": "好"}]}
    assert [json.loads(s["body"])["n"] for s in server.seen] == [1, 2]


def test_install_replaces_rasas_session(monkeypatch):
    monkeypatch.setattr(EndpointConfig, "session", EndpointConfig.session)  # restored afterwards
    rasa_connections.install()
    assert EndpointConfig.session is rasa_connections.endpoint_session
