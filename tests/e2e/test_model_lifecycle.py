"""Retrain → evaluate → promote → rollback against the running stack, with residents talking throughout.

The stack's Rasa server starts with the model of the current data. It is
recorded as the serving model (``model ensure``, what ``make train`` runs),
then a candidate (``tests/e2e/candidate_config.yml``: config.yml without
the other-languages reader) is trained, scored beside it on the held-out split,
promoted because it is not worse, and swapped into the running server
through its token-protected HTTP API; an admin then rolls back from the
console with one click. A resident keeps sending messages the whole time:
every one is answered, none is lost.
"""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path

import httpx

from tests.e2e.stack import Stack

PASSWORD = "model-admin-password"


def loaded(stack: Stack) -> str:
    status = httpx.get(f"{stack.rasa_url}/status", params={"token": stack.env["RASA_TOKEN"]}, timeout=10).json()
    return Path(status["model_file"]).name.removesuffix(".tar.gz")


class Chatter(threading.Thread):
    """A resident who keeps talking; records every answer's status and length."""

    def __init__(self, stack: Stack):
        super().__init__(daemon=True)
        self.url = f"{stack.rasa_url}/webhooks/rest/webhook"
        self.stop = threading.Event()
        self.answers: list[tuple[float, int, int]] = []  # (seconds since start, HTTP status, messages)

    def run(self) -> None:
        i, started = 0, time.monotonic()
        with httpx.Client(timeout=120) as client:
            while not self.stop.is_set():
                i += 1  # a new resident each time: the greeting is answered by a rule, whatever the policy epochs
                response = client.post(self.url, json={"sender": f"swap-{i}", "message": "你好"})
                count = len(response.json()) if response.status_code == 200 else 0
                self.answers.append((round(time.monotonic() - started, 1), response.status_code, count))
                time.sleep(0.2)


def console_login(stack: Stack) -> httpx.Client:
    client = httpx.Client(base_url=stack.web_url, timeout=300)
    token = re.search(r'name="login_token" value="([^"]+)"', client.get("/console/login").text).group(1)
    client.post("/console/login", data={"username": "model-admin", "password": PASSWORD, "login_token": token})
    return client


def test_retrain_evaluate_promote_and_roll_back_without_downtime(running: Stack):
    first = loaded(running)
    out = running.command("model", "ensure", timeout=900)
    assert f"正在使用 / serving: {first}" in out
    chatter = Chatter(running)
    chatter.start()
    try:
        candidate_config = "tests/e2e/candidate_config.yml"
        out = running.command("model", "train", "--config", candidate_config, "--by", "e2e", timeout=1500)
        assert "评估" in out and "规则：" in out and "不比正在使用的差，上线" in out, out
        assert "已换进 1 台运行中的 Rasa 服务器" in out, out
        candidate = loaded(running)
        assert candidate != first

        running.command("accounts", "add", "model-admin", "--role", "admin", "--password-stdin", stdin=PASSWORD + "\n")
        client = console_login(running)
        page = client.get("/console/models")
        assert page.status_code == 200
        assert f'data-testid="loaded">{candidate}' in page.text and "类别宏平均 F1" in page.text
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        done = client.post(f"/console/models/{first}/rollback", data={"csrf": csrf}, follow_redirects=True)
        assert f"已回滚：正在使用 {first}" in done.text
        assert loaded(running) == first
        time.sleep(1)
    finally:
        chatter.stop.set()
        chatter.join(timeout=150)
        if loaded(running) != first:  # leave the shared stack as it was for the other tests
            running.command("model", "rollback", first)
    assert len(chatter.answers) > 10
    unanswered = [answer for answer in chatter.answers if answer[1] != 200 or answer[2] == 0]
    assert not unanswered, (unanswered, len(chatter.answers))
