"""Conversations of issue 25, item 2, through the running stack: typing a button's words acts as the button.

Each transcript in ``typed_buttons.yml`` is held by two web residents through
the web chat's real API (and so through the guarded channel every channel
reaches Rasa by): one types, the other presses the button at the turns that
name one, and their answers must be the same. Where a turn says so, Rasa's
tracker must show the words the resident typed, with the button's intent.
"""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from itsdangerous import URLSafeSerializer

from backend.settings import PROJECT_ROOT
from tests.e2e.stack import Stack

pytestmark = pytest.mark.e2e
TRANSCRIPTS = yaml.safe_load((Path(__file__).parent / "typed_buttons.yml").read_text(encoding="utf-8"))
# Ticket numbers, redemption codes and residents' codes differ between the twins.
_VARYING = re.compile(r"GZ\d{8}-\d{4}|DH[A-Z0-9]{6}|R[0-9A-F]{6}")


class WebResident:
    """One visitor of the chat page: sends through ``/api/chat/messages`` with its cookie, reads the API."""

    def __init__(self, stack: Stack):
        self.stack = stack
        self.visitor = uuid.uuid4().hex
        self.cookie = URLSafeSerializer(stack.env["SECRET_KEY"], salt="web-visitor").dumps(self.visitor)
        self.seen = 0

    def send(self, text: str) -> list[dict[str, Any]]:
        response = httpx.post(
            f"{self.stack.web_url}/api/chat/messages",
            params={"after": self.seen},
            json={"text": text},
            cookies={"sst_visitor": self.cookie},
            headers={"X-Requested-With": "santong"},
            timeout=120,
        )
        assert response.status_code == 200, response.text
        replies: list[dict[str, Any]] = response.json()["replies"]
        if replies:
            self.seen = max(r["id"] for r in replies)
        return replies

    def tickets(self) -> int:
        response = httpx.get(f"{self.stack.web_url}/api/tickets", cookies={"sst_visitor": self.cookie}, timeout=30)
        return len(response.json())

    def last_message_in_tracker(self) -> dict[str, Any]:
        """The latest user event of this visitor's conversation, as Rasa's tracker holds it."""
        response = httpx.get(
            f"{self.stack.rasa_url}/conversations/web:{self.visitor}/tracker",
            params={"token": self.stack.env["RASA_TOKEN"]},
            timeout=30,
        )
        return [e for e in response.json()["events"] if e["event"] == "user"][-1]


def _text(replies: list[dict[str, Any]]) -> str:
    return "\n".join(r.get("text") or "" for r in replies)


def _payload(replies: list[dict[str, Any]], title: str) -> str:
    for reply in replies:
        for button in reply.get("buttons") or []:
            if button["title"] == title:
                return str(button["payload"])
    raise AssertionError(f"上一条回答里没有“{title}”按钮：{replies!r}")


def _with_points(stack: Stack, me: WebResident, hours: int) -> None:
    code = re.search(r"居民码是 (R[0-9A-F]{6})", _text(me.send("我有多少积分"))).group(1)
    subprocess.run(
        [sys.executable, "-m", "backend", "points", "volunteer", "--member", "gm-fl-01", "--resident", code,
         "--hours", str(hours), "--log-id", f"typed-{code}"],
        env=stack.env, cwd=PROJECT_ROOT, check=True, capture_output=True, timeout=120,
    )  # fmt: skip


@pytest.mark.parametrize("transcript", TRANSCRIPTS, ids=[t["name"] for t in TRANSCRIPTS])
def test_conversation(running: Stack, transcript: dict[str, Any], record_property) -> None:
    record_property("conversation_group", transcript["group"])
    if transcript.get("filed_first"):
        neighbour = WebResident(running)
        for said in transcript["filed_first"]:
            neighbour.send(said)
    typing, pressing = WebResident(running), WebResident(running)
    if transcript.get("points"):
        _with_points(running, typing, transcript["points"])
        _with_points(running, pressing, transcript["points"])
    previous: list[dict[str, Any]] = []
    for index, turn in enumerate(transcript["turns"], 1):
        said = turn["say"]
        pressed_instead = _payload(previous, turn["press"]) if "press" in turn else said
        answer, twin = typing.send(said), pressing.send(pressed_instead)
        shown = _text(answer)
        where = f"第 {index} 句“{said}” → {shown!r}"
        if "press" in turn:
            assert _VARYING.sub("…", shown) == _VARYING.sub("…", _text(twin)), f"{where}；点按钮：{_text(twin)!r}"
        for phrase in turn.get("contains", []):
            assert phrase in shown, where
        for phrase in turn.get("absent", []):
            assert phrase not in shown, where
        if "tickets" in turn:
            assert typing.tickets() == turn["tickets"], where
        if "kept" in turn:
            event = typing.last_message_in_tracker()
            assert event["text"] == said and event["parse_data"]["intent"]["name"] == turn["kept"], event
            assert event["metadata"]["typed_button"]["title"] == turn["press"], event
        previous = twin
