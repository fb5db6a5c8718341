"""Conversations of issue 25, items 1 and 3, through the running stack: roads and places, questions mid-form.

Each transcript in ``places_and_interruptions.yml`` is one conversation as a
resident would have it, sent through Rasa's REST channel to the real model
and action server; what must hold after each turn is checked in the answer
and through the resident API.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conversations.transcripts import fill as _fill
from tests.e2e.stack import Stack, texts
from tests.e2e.test_report import NUMBER, Resident

pytestmark = pytest.mark.e2e
TRANSCRIPTS = yaml.safe_load((Path(__file__).parent / "places_and_interruptions.yml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("transcript", TRANSCRIPTS, ids=[t["name"] for t in TRANSCRIPTS])
def test_conversation(running: Stack, transcript: dict[str, Any], record_property) -> None:
    record_property("conversation_group", transcript["group"])
    me = Resident(running)
    values: dict[str, str] = {}
    for index, turn in enumerate(transcript["turns"], 1):
        said = _fill(str(turn["say"]), values)
        answer = texts(me.say(said))
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
