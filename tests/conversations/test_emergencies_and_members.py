"""Conversations of issue 25, items 7-10, through the running stack: emergencies and their follow-ups, notices, members.

Each transcript in ``emergencies_and_members.yml`` is one conversation as a
resident (and, where it says so, their grid member) would have it, sent
through Rasa's REST channel to the real model and action server; what must
hold after each turn is checked in the answer, through the resident API and
in the notices the worker delivers to the chat.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from backend.tickets.urgency import default_numbers
from tests.conversations.transcripts import fill as _fill
from tests.conversations.transcripts import member as _member
from tests.conversations.transcripts import news as _news
from tests.e2e.stack import Stack, say, texts
from tests.e2e.test_report import NUMBER, Resident

pytestmark = pytest.mark.e2e
TRANSCRIPTS = yaml.safe_load((Path(__file__).parent / "emergencies_and_members.yml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("transcript", TRANSCRIPTS, ids=[t["name"] for t in TRANSCRIPTS])
def test_conversation(running: Stack, transcript: dict[str, Any], record_property) -> None:
    record_property("conversation_group", transcript["group"])
    me = Resident(running)
    member = _member(running, transcript["member_code"]) if transcript.get("member_code") else None
    values = {"gas": default_numbers().gas}
    for index, turn in enumerate(transcript["turns"], 1):
        said = _fill(turn["say"], values)
        answer = texts(say(running, member, said) if turn.get("as") == "member" else me.say(said))
        where = f"第 {index} 句“{said}” → {answer!r}"
        if "number" not in values and NUMBER.search(answer):
            values["number"] = NUMBER.search(answer).group(0)
        for phrase in turn.get("contains", []):
            assert _fill(phrase, values) in answer, where
        for phrase in turn.get("absent", []):
            assert _fill(phrase, values) not in answer, where
        if "tickets" in turn:
            assert len(me.api("/api/tickets").json()) == turn["tickets"], where
        if "ticket" in turn:
            detail = me.api(f"/api/tickets/{values['number']}").json()
            assert {k: detail[k] for k in turn["ticket"]} == turn["ticket"], where
        if "timeline" in turn:
            shown = texts(me.say(f"查询 {values['number']}"))
            for phrase in turn["timeline"]:
                assert phrase in shown, f"{where}; 查询：{shown!r}"
        if "news" in turn:
            _news(me, _fill(turn["news"], values))
