"""The conversation suite: every transcript of ``tests/conversations/*.yml`` through the web chat's real API.

Each transcript is one conversation as a resident (and, where it says so,
their grid member) would have it. Every message goes to ``/api/chat/messages``
as the chat page sends it, so through the guarded channel, the typed-button
mapping, Rasa's real model and the action server; what must hold after each
turn is checked in the answer, its buttons, the resident API, Rasa's tracker
and the notices the worker delivers. The pass rate per group is printed at the
end (``conftest.py``), and no answer may show an English word or an internal
code unless the transcript is in another language (``language``).

A transcript has ``group``, ``name``, ``turns`` and optionally:
  member_code   a grid member whose web chat is bound with a 绑定码 first
  points        volunteer hours logged for the resident before it starts
  filed_first   messages another resident sends first (a problem already filed)
  language      the language the answers may be in besides Chinese (e.g. ``en``)

A turn is ``say`` (typed) or ``press`` (the button of the previous answer with
this title, or else the first whose title holds it; its payload is sent as the
page sends it), spoken by the resident unless ``as: member``. With both
``say`` and ``press`` the resident types and a twin resident presses, and both
must get the same answer (ticket numbers and codes aside). Then what must hold:
  contains / absent   phrases in the answer ({number} and {second}: the first
                      and second ticket numbers the resident was told; {gas}:
                      the gas company's line from config/emergency.yml)
  buttons             phrases each in the title of some button of the answer
  tickets             how many tickets the resident has (filed and followed)
  ticket / second     fields of ticket {number} / {second} (resident API)
  timeline            phrases in ticket {number}'s timeline as the chat shows it
  news                a notice the resident must receive in the chat
  member_news         phrases of notices the member must receive in their chat
  kept                the typed words stay in Rasa's tracker, with this intent
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from itsdangerous import URLSafeSerializer

from backend.settings import PROJECT_ROOT
from backend.tickets.urgency import default_numbers
from tests.e2e.stack import Stack, close_open_tickets

pytestmark = pytest.mark.e2e
HERE = Path(__file__).parent
# CONVERSATIONS=two_problems,typed_buttons runs only those files (while writing them); the suite runs all.
_ONLY = {name.strip() for name in os.environ.get("CONVERSATIONS", "").split(",") if name.strip()}
TRANSCRIPTS = [
    transcript
    for path in sorted(HERE.glob("*.yml"))
    if not _ONLY or path.stem in _ONLY
    for transcript in yaml.safe_load(path.read_text(encoding="utf-8"))
]
NUMBER = re.compile(r"GZ\d{8}-\d{4}")
# Ticket numbers, redemption codes and residents' codes differ between twins.
_VARYING = re.compile(r"GZ\d{8}-\d{4}|DH[A-Z0-9]{6}|R[0-9A-F]{6}")
# What may be written in Latin letters in a Chinese answer: ticket numbers, redemption and resident codes.
_ALLOWED_LATIN = re.compile(r"GZ\d{8}-\d{4}|DH[A-Z0-9]{6}|R[0-9A-F]{6}")
_LATIN_WORD = re.compile(r"[A-Za-z_]{2,}")


class WebResident:
    """One visitor of the chat page: sends through ``/api/chat/messages`` with its cookie, reads the API."""

    def __init__(self, stack: Stack):
        self.stack = stack
        self.visitor = uuid.uuid4().hex
        self.cookie = URLSafeSerializer(stack.env["SECRET_KEY"], salt="web-visitor").dumps(self.visitor)
        self.seen = 0

    def send(self, text: str) -> list[dict[str, Any]]:
        """Send ``text`` as the page does; the answers to it."""
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

    def api(self, path: str) -> Any:
        response = httpx.get(f"{self.stack.web_url}{path}", cookies={"sst_visitor": self.cookie}, timeout=30)
        assert response.status_code == 200, response.text
        return response.json()

    def news(self, wanted: str, timeout: float = 30) -> None:
        """Wait until a message holding ``wanted`` reaches this chat (the worker's notices)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(wanted in (r.get("text") or "") for r in self.api("/api/chat/updates?after=0")["replies"]):
                return
            time.sleep(1)
        raise AssertionError(f"没有收到含“{wanted}”的消息")

    def last_message_in_tracker(self) -> dict[str, Any]:
        """The latest user event of this visitor's conversation, as Rasa's tracker holds it."""
        response = httpx.get(
            f"{self.stack.rasa_url}/conversations/web:{self.visitor}/tracker",
            params={"token": self.stack.env["RASA_TOKEN"]},
            timeout=30,
        )
        return [e for e in response.json()["events"] if e["event"] == "user"][-1]


def fill(text: str, values: dict[str, str]) -> str:
    """``text`` with ``{number}``-style placeholders replaced by what the conversation produced so far."""
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), m.group(0)), text)


def _text(replies: list[dict[str, Any]]) -> str:
    return "\n".join(r.get("text") or "" for r in replies)


def _titles(replies: list[dict[str, Any]]) -> list[str]:
    return [str(b["title"]) for r in replies for b in r.get("buttons") or []]


def _payload(replies: list[dict[str, Any]], title: str) -> str:
    """The payload of the button titled ``title``, or else of the first whose title holds it."""
    buttons = [b for r in replies for b in r.get("buttons") or []]
    for button in [b for b in buttons if b["title"] == title] + [b for b in buttons if title in b["title"]]:
        return str(button["payload"])
    raise AssertionError(f"上一条回答里没有“{title}”按钮：{_titles(replies)}")


def _member_chat(stack: Stack, code: str) -> WebResident:
    """A web chat bound to grid member ``code`` with a one-time 绑定码, as the member would bind it."""
    member = WebResident(stack)
    bound = re.search(r"绑定码：(\d{8})", stack.command("members", "code", code)).group(1)
    assert "绑定成功" in _text(member.send(f"绑定 {bound}"))
    return member


def _with_points(stack: Stack, me: WebResident, hours: int) -> None:
    code = re.search(r"居民码是 (R[0-9A-F]{6})", _text(me.send("我有多少积分"))).group(1)
    subprocess.run(
        [sys.executable, "-m", "backend", "points", "volunteer", "--member", "gm-fl-01", "--resident", code,
         "--hours", str(hours), "--log-id", f"suite-{code}"],
        env=stack.env, cwd=PROJECT_ROOT, check=True, capture_output=True, timeout=120,
    )  # fmt: skip


def english_in(answer: str) -> list[str]:
    """Latin-letter words of an answer that are not a ticket number or a code: English or internal codes."""
    return _LATIN_WORD.findall(_ALLOWED_LATIN.sub("", answer))


def test_english_in_finds_words_and_codes_but_not_numbers() -> None:
    assert english_in("您的工单 GZ20261206-0003 已登记，兑换码 DHAB12CD，居民码 R1A2B3C") == []
    assert english_in("评价 unsatisfied") == ["unsatisfied"]
    assert english_in("意图 inform_phone") == ["inform_phone"]


def _check_ticket(me: WebResident, number: str, fields: dict[str, Any], where: str) -> None:
    detail = me.api(f"/api/tickets/{number}")
    assert {k: detail[k] for k in fields} == fields, where


@pytest.mark.parametrize("transcript", TRANSCRIPTS, ids=[t["name"] for t in TRANSCRIPTS])
def test_conversation(running: Stack, transcript: dict[str, Any], record_property) -> None:
    record_property("conversation_group", transcript["group"])
    close_open_tickets(running)  # each transcript starts in a district with none
    if transcript.get("filed_first"):
        neighbour = WebResident(running)
        for said in transcript["filed_first"]:
            neighbour.send(said)
    me = WebResident(running)
    twin = WebResident(running) if any("say" in t and "press" in t for t in transcript["turns"]) else None
    for resident in [me, twin] if transcript.get("points") else []:
        if resident is not None:
            _with_points(running, resident, transcript["points"])
    member = _member_chat(running, transcript["member_code"]) if transcript.get("member_code") else None
    values = {"gas": default_numbers().gas}
    last: list[dict[str, Any]] = []
    twin_last: list[dict[str, Any]] = []
    for index, turn in enumerate(transcript["turns"], 1):
        speaker = member if turn.get("as") == "member" else me
        assert speaker is not None, "这段对话没有 member_code，却有网格员说话"
        if "say" in turn:
            said = fill(str(turn["say"]), values)
        else:
            said = _payload(last, fill(turn["press"], values))
        answers = speaker.send(said)
        answer = _text(answers)
        where = f"第 {index} 句“{turn.get('say') or turn.get('press')}” → {answer!r} {_titles(answers)}"
        if twin is not None and speaker is me:
            twin_said = _payload(twin_last, fill(turn["press"], values)) if "press" in turn else said
            twin_last = twin.send(twin_said)
            if "press" in turn and "say" in turn:
                pressed = _text(twin_last)
                assert _VARYING.sub("…", answer) == _VARYING.sub("…", pressed), f"{where}；点按钮：{pressed!r}"
        if speaker is me:
            last = answers
            for found in NUMBER.findall(answer):
                if found not in values.values():
                    values["second" if "number" in values else "number"] = found
        if not transcript.get("language"):
            assert not english_in(answer), f"{where}：回答里有英文或内部代码 {english_in(answer)}"
            assert not english_in(" ".join(_titles(answers))), f"{where}：按钮上有英文或内部代码"
        for phrase in turn.get("contains", []):
            assert fill(phrase, values) in answer, where
        for phrase in turn.get("absent", []):
            assert fill(phrase, values) not in answer, where
        for phrase in turn.get("buttons", []):
            wanted = fill(phrase, values)
            assert any(wanted in title for title in _titles(answers)), where
        if "tickets" in turn:
            assert len(me.api("/api/tickets")) == turn["tickets"], where
        if "ticket" in turn:
            _check_ticket(me, values["number"], turn["ticket"], where)
        if "second" in turn:
            _check_ticket(me, values["second"], turn["second"], where)
        if "timeline" in turn:
            shown = _text(me.send(f"查询 {values['number']}"))
            for phrase in turn["timeline"]:
                assert fill(phrase, values) in shown, f"{where}; 查询：{shown!r}"
        if "news" in turn:
            me.news(fill(turn["news"], values))
        for phrase in turn.get("member_news", []):
            assert member is not None
            member.news(fill(phrase, values))
        if "kept" in turn:
            event = me.last_message_in_tracker()
            assert event["text"] == said and event["parse_data"]["intent"]["name"] == turn["kept"], event
            assert event["metadata"]["typed_button"]["title"] == turn["press"], event
