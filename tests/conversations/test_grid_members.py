"""Conversations of grid members (issue 25, items 11 and 12) through the running stack.

Each transcript in ``grid_members.yml`` is one conversation between a
resident and their grid member, whose web chat is bound to the member
before it starts: the resident files through Rasa's REST channel to the
real model and action server; the member receives the dispatch notice the
worker delivers into their chat, lists, queries, takes the ticket and
blows the whistle; the resident reads the timeline.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conversations.transcripts import fill as _fill
from tests.conversations.transcripts import news as _news
from tests.e2e.stack import Stack, texts
from tests.e2e.test_report import NUMBER, Resident

pytestmark = pytest.mark.e2e
TRANSCRIPTS = yaml.safe_load((Path(__file__).parent / "grid_members.yml").read_text(encoding="utf-8"))


def _member_chat(stack: Stack, code: str) -> Resident:
    """A web chat bound to the grid member ``code`` with a one-time code, as the member would bind it."""
    member = Resident(stack)
    bound = re.search(r"绑定码：(\d{8})", stack.command("members", "code", code)).group(1)
    assert "绑定成功" in texts(member.say(f"绑定 {bound}"))
    return member


@pytest.mark.parametrize("transcript", TRANSCRIPTS, ids=[t["name"] for t in TRANSCRIPTS])
def test_conversation(running: Stack, transcript: dict[str, Any], record_property) -> None:
    record_property("conversation_group", transcript["group"])
    me = Resident(running)
    member = _member_chat(running, transcript["member_code"])
    values: dict[str, str] = {}
    for index, turn in enumerate(transcript["turns"], 1):
        said = _fill(turn["say"], values)
        answer = texts((member if turn.get("as") == "member" else me).say(said))
        where = f"第 {index} 句“{said}” → {answer!r}"
        if "number" not in values and NUMBER.search(answer):
            values["number"] = NUMBER.search(answer).group(0)
        for phrase in turn.get("contains", []):
            assert _fill(phrase, values) in answer, where
        for phrase in turn.get("absent", []):
            assert _fill(phrase, values) not in answer, where
        for phrase in turn.get("member_news", []):
            _news(member, _fill(phrase, values))
        if "timeline" in turn:
            shown = texts(me.say(f"查询 {values['number']}"))
            for phrase in turn["timeline"]:
                assert phrase in shown, f"{where}; 查询：{shown!r}"
