"""Two Rasa servers behind a load balancer share one conversation: nothing is lost, the form completes.

The production profile (``make test`` runs the end-to-end tests a second
time on it): PostgreSQL for Rasa's tracker store, Redis for its lock store.
A second Rasa server is started on another port with the same
configuration; one resident's messages go alternately to the two — the way
a round-robin load balancer spreads them — and then two at once, one to
each. Every message is answered, every one is in the stored conversation
exactly once and in order, and the report form files its ticket.
"""

from __future__ import annotations

import threading
import time
import uuid

import httpx
import pytest

from tests.e2e.stack import REDIS_URL, Stack, free_port, texts
from tests.e2e.test_report import NUMBER

pytestmark = pytest.mark.skipif(
    not REDIS_URL, reason="the production profile (PostgreSQL + Redis) only; make test runs it with them"
)


def post(url: str, sender: str, message: str) -> list[dict]:
    response = httpx.post(f"{url}/webhooks/rest/webhook", json={"sender": sender, "message": message}, timeout=120)
    assert response.status_code == 200
    return response.json()


def test_one_conversation_alternating_between_two_rasa_servers(running: Stack):
    port = free_port()
    second = f"http://127.0.0.1:{port}"
    running.start("rasa2", {"RASA_PORT": str(port)}, serve="rasa")
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            try:
                if (
                    httpx.get(f"{second}/status", params={"token": running.env["RASA_TOKEN"]}, timeout=2)
                    .json()
                    .get("model_file")
                ):
                    break
            except (httpx.HTTPError, ValueError):
                pass
            time.sleep(1)
        servers = [running.rasa_url, second]
        sender = f"web:{uuid.uuid4().hex}"
        steps = ["和园新村2号楼电梯坏了，卡在三楼不动", "/report_start", "13857209931", "不用了", "/affirm"]
        answers = [post(servers[i % 2], sender, text) for i, text in enumerate(steps)]
        assert all(answers), answers
        filed = texts(answers[-1])
        assert NUMBER.search(filed) and "已登记" in filed, filed

        both: list[list[dict]] = [[], []]
        burst = ["我的工单", "谢谢"]
        threads = [
            threading.Thread(target=lambda i=i: both.__setitem__(i, post(servers[i], sender, burst[i])))
            for i in range(2)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=150)
        assert all(both), both

        tracker = httpx.get(
            f"{second}/conversations/{sender}/tracker", params={"token": running.env["RASA_TOKEN"]}, timeout=30
        ).json()
        said = [e["text"] for e in tracker["events"] if e["event"] == "user"]
        assert said[: len(steps)] == steps  # in order, none lost, none twice
        assert sorted(said[len(steps) :]) == sorted(burst)
    finally:
        running.stop("rasa2")
