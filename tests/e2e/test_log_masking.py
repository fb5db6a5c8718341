"""A conversation with a phone and an ID-card number leaves neither in any process's log, even at debug level.

Rasa logs every user message's text at debug level; the action server, the
web app and the worker log what they handle. Rasa, the action server and
the web app are restarted with ``LOG_LEVEL=DEBUG``, a resident reports a
problem through the web chat giving both numbers, and every log of the
stack is searched: the masked forms are there (so the messages were
logged), the numbers themselves nowhere.
"""

from __future__ import annotations

import re
import uuid

import httpx
from itsdangerous import URLSafeSerializer

from tests.e2e.stack import Stack

PHONE, ID_CARD = "13765432198", "320102198805126633"
NAMES = ("rasa", "actions", "web", "worker")


def restart(stack: Stack, extra_env: dict[str, str] | None = None) -> None:
    for name in ("rasa", "actions", "web"):
        stack.stop(name)
        stack.start(name, extra_env)
    for name in ("actions", "web", "rasa"):
        stack.wait_ready(name)


def chat(stack: Stack, cookie: str, text: str) -> dict:
    response = httpx.post(
        f"{stack.web_url}/api/chat/messages",
        json={"text": text},
        cookies={"sst_visitor": cookie},
        headers={"X-Requested-With": "santong"},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_no_phone_or_id_number_in_any_log(running: Stack):
    restart(running, {"LOG_LEVEL": "DEBUG"})
    try:
        cookie = URLSafeSerializer(running.env["SECRET_KEY"], salt="web-visitor").dumps(uuid.uuid4().hex)
        chat(running, cookie, f"和园新村6号楼楼道灯坏了好几天，我电话{PHONE}，身份证{ID_CARD}")
        chat(running, cookie, "登记工单")
        chat(running, cookie, PHONE)
        logs = {name: (running.workdir / f"{name}.log").read_text(errors="replace") for name in NAMES}
    finally:
        restart(running)
    everything = "\n".join(logs.values())
    assert re.search(r"137\*\*\*\*2198", logs["rasa"]), "Rasa did not log the message at debug level"
    for name, text in logs.items():
        assert PHONE not in text, f"phone in the {name} log"
        assert ID_CARD not in text, f"ID-card number in the {name} log"
    assert "320102********6633" in everything
