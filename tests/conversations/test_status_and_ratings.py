"""Conversations of issue 25, items 5 and 6, through the running stack: status without a number, ratings in words.

Each transcript in ``status_and_ratings.yml`` is one conversation as a
resident (and, where it says so, their grid member) would have it, sent
through Rasa's REST channel to the real model and action server; what must
hold after each turn is checked in the answer, its buttons, through the
resident API and in the notices the worker delivers to the chat.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conversations.transcripts import button as _button
from tests.conversations.transcripts import fill as _fill
from tests.conversations.transcripts import member as _member
from tests.conversations.transcripts import news as _news
from tests.e2e.stack import Stack, say, texts
from tests.e2e.test_report import NUMBER, Resident

pytestmark = pytest.mark.e2e
TRANSCRIPTS = yaml.safe_load((Path(__file__).parent / "status_and_ratings.yml").read_text(encoding="utf-8"))


def _check_ticket(me: Resident, number: str, fields: dict[str, Any], where: str) -> None:
    detail = me.api(f"/api/tickets/{number}").json()
    assert {k: detail[k] for k in fields} == fields, where


@pytest.mark.parametrize("transcript", TRANSCRIPTS, ids=[t["name"] for t in TRANSCRIPTS])
def test_conversation(running: Stack, transcript: dict[str, Any], record_property) -> None:
    record_property("conversation_group", transcript["group"])
    me = Resident(running)
    member = _member(running, transcript["member_code"]) if transcript.get("member_code") else None
    values: dict[str, str] = {}
    last: list[dict[str, Any]] = []
    for index, turn in enumerate(transcript["turns"], 1):
        said = _button(last, _fill(turn["press"], values)) if "press" in turn else _fill(turn["say"], values)
        last = say(running, member, said) if turn.get("as") == "member" else me.say(said)
        answer = texts(last)
        where = f"第 {index} 句“{said}” → {answer!r}"
        for found in NUMBER.findall(answer) if turn.get("as") != "member" else []:
            if found not in values.values():
                values["second" if "number" in values else "number"] = found
        for phrase in turn.get("contains", []):
            assert _fill(phrase, values) in answer, where
        for phrase in turn.get("absent", []):
            assert _fill(phrase, values) not in answer, where
        for phrase in turn.get("buttons", []):
            _button(last, _fill(phrase, values))
        if "tickets" in turn:
            assert len(me.api("/api/tickets").json()) == turn["tickets"], where
        if "ticket" in turn:
            _check_ticket(me, values["number"], turn["ticket"], where)
        if "second" in turn:
            _check_ticket(me, values["second"], turn["second"], where)
        if "timeline" in turn:
            shown = texts(me.say(f"查询 {values['number']}"))
            for phrase in turn["timeline"]:
                assert phrase in shown, f"{where}; 查询：{shown!r}"
        if "news" in turn:
            _news(me, _fill(turn["news"], values))
