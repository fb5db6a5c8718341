"""Conversations of issue 24, item 4, through the running stack: the two-category question and its buttons.

Each transcript in ``clarify.yml`` is one conversation as a resident would
have it, sent through Rasa's REST channel to the real model and action
server; a ``press`` turn sends the payload of the previous answer's button
with that title, as the chat page and Telegram do.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conversations.transcripts import fill as _fill
from tests.e2e.stack import Stack, texts
from tests.e2e.test_report import NUMBER, Resident, buttons

pytestmark = pytest.mark.e2e
TRANSCRIPTS = yaml.safe_load((Path(__file__).parent / "clarify.yml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("transcript", TRANSCRIPTS, ids=[t["name"] for t in TRANSCRIPTS])
def test_conversation(running: Stack, transcript: dict[str, Any], record_property) -> None:
    record_property("conversation_group", transcript["group"])
    me = Resident(running)
    values: dict[str, str] = {}
    shown: dict[str, str] = {}
    for index, turn in enumerate(transcript["turns"], 1):
        if "press" in turn:
            assert turn["press"] in shown, f"第 {index} 步：上一条回答没有“{turn['press']}”按钮：{list(shown)}"
            said = shown[turn["press"]]
        else:
            said = _fill(turn["say"], values)
        answers = me.say(said)
        answer, shown = texts(answers), buttons(answers)
        where = f"第 {index} 步“{turn.get('press') or said}” → {answer!r} {list(shown)}"
        if "number" not in values and (found := NUMBER.search(answer)):
            values["number"] = found.group(0)
        for phrase in turn.get("contains", []):
            assert _fill(phrase, values) in answer, where
        for phrase in turn.get("absent", []):
            assert _fill(phrase, values) not in answer, where
        for title in turn.get("buttons", []):
            assert title in shown, where
        if "tickets" in turn:
            assert len(me.api("/api/tickets").json()) == turn["tickets"], where
        if "ticket" in turn:
            detail = me.api(f"/api/tickets/{values['number']}").json()
            assert {k: detail[k] for k in turn["ticket"]} == turn["ticket"], where
