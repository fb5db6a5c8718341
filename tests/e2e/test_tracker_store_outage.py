"""Rasa's tracker store unavailable in the middle of a form: the turn is refused, kept, and answered later in order.

Rasa on its own would carry on in memory (``FailSafeTrackerStore``): a
fresh conversation on read, an in-memory save, an HTTP 200 — the resident
would be asked again what they already said. Here the stack's SQLite
tracker store is locked by another process (as a long migration or a
backup would) while a resident is filling in the report form through the
web chat: the guarded channel answers 503, the health route says so, the
web backend keeps the message and tells the resident; when the lock goes,
the worker's retry continues the same form where it was.
"""

from __future__ import annotations

import sqlite3
import time
import uuid

import httpx
import pytest
from itsdangerous import URLSafeSerializer

from tests.e2e.stack import POSTGRES_ADMIN_URL, Stack

pytestmark = pytest.mark.skipif(bool(POSTGRES_ADMIN_URL), reason="locks the SQLite tracker store (the default profile)")


class WebResident:
    def __init__(self, stack: Stack):
        self.stack = stack
        self.cookie = URLSafeSerializer(stack.env["SECRET_KEY"], salt="web-visitor").dumps(uuid.uuid4().hex)
        self.seen = 0

    def send(self, text: str) -> dict:
        response = httpx.post(
            f"{self.stack.web_url}/api/chat/messages",
            params={"after": self.seen},
            json={"text": text},
            cookies={"sst_visitor": self.cookie},
            headers={"X-Requested-With": "santong"},
            timeout=120,
        )
        assert response.status_code == 200, response.text
        return self._take(response.json())

    def updates(self) -> dict:
        response = httpx.get(
            f"{self.stack.web_url}/api/chat/updates",
            params={"after": self.seen},
            cookies={"sst_visitor": self.cookie},
            timeout=30,
        )
        return self._take(response.json())

    def history(self) -> dict:
        """The conversation as the page restores it: each message with its own replies."""
        return httpx.get(
            f"{self.stack.web_url}/api/chat/history", cookies={"sst_visitor": self.cookie}, timeout=30
        ).json()

    def _take(self, update: dict) -> dict:
        if update["replies"]:
            self.seen = max(r["id"] for r in update["replies"])
        return update


def text_of(update: dict) -> str:
    return "\n".join(r.get("text") or "" for r in update["replies"])


def health(stack: Stack) -> int:
    return httpx.get(f"{stack.rasa_url}/webhooks/santong/health", timeout=30).status_code


def test_a_locked_tracker_store_refuses_the_turn_and_the_form_goes_on_after(running: Stack):
    me = WebResident(running)
    assert "登记工单" in str(me.send("和园新村4号楼的电梯又坏了，停在半中间不动"))
    asked = me.send("登记工单")
    assert "手机号" in text_of(asked), asked
    assert health(running) == 200

    tracker_db = running.env["TRACKER_STORE_URL"].removeprefix("sqlite:///")
    lock = sqlite3.connect(tracker_db, timeout=1, isolation_level=None)
    try:
        lock.execute("BEGIN EXCLUSIVE")  # readers and writers wait, then give up
        refused = me.send("13857204412")
        assert refused["pending"] == 1 and refused["notice"], refused  # kept, and the resident is told
        assert "手机号" not in text_of(refused)  # no answer from a forgotten conversation
        assert health(running) == 503
    finally:
        lock.execute("ROLLBACK")
        lock.close()

    deadline, answered = time.monotonic() + 120, ""
    while time.monotonic() < deadline and "138****4412" not in answered:
        answered += text_of(me.updates())
        time.sleep(1)
    assert "138****4412" in answered, answered  # the same form, at the question after the phone
    assert health(running) == 200
    assert "tracker store unavailable" in (running.workdir / "rasa.log").read_text()  # the alert
