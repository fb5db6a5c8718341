"""A resident's message in Rasa's ``events`` table: its text and what the NLU made of it.

Rasa is not imported: each event's JSON is parsed by hand. The conversation
log and the review queue read resident messages through here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine

from backend.console.tracker_access import reading
from backend.tracker_events import EVENTS

FALLBACK_INTENT = "nlu_fallback"
FALLBACK_ACTION = "action_default_fallback"


def moment(timestamp: float | None) -> datetime:
    """A tracker timestamp (seconds since the epoch) as an aware UTC time."""
    return datetime.fromtimestamp(timestamp or 0.0, timezone.utc)


@dataclass(frozen=True)
class Said:
    """What the NLU made of one resident message."""

    text: str
    intent: str | None
    confidence: float | None
    guess: str | None  # the classifier's best real intent (under a fallback, what it would have said)
    guess_confidence: float | None

    @property
    def command(self) -> bool:
        """A button press or a channel's own message (``/intent{...}``), not words to learn from."""
        return self.text.startswith("/")

    @property
    def fallback(self) -> bool:
        """The NLU gave up on it (``nlu_fallback``)."""
        return self.intent == FALLBACK_INTENT

    def low(self, threshold: float) -> bool:
        """Understood, but with less confidence than ``threshold``."""
        return not self.command and not self.fallback and self.confidence is not None and self.confidence < threshold


def parse_user(data: str | None) -> Said:
    """The text and intents of a user event's JSON."""
    try:
        event = json.loads(data or "{}")
    except ValueError:
        event = {}
    parse = event.get("parse_data") or {}
    intent = parse.get("intent") or {}
    ranking = [r for r in parse.get("intent_ranking") or [] if r.get("name") and r.get("name") != FALLBACK_INTENT]
    best = ranking[0] if ranking else (intent if intent.get("name") != FALLBACK_INTENT else {})
    return Said(
        text=str(event.get("text") or ""),
        intent=intent.get("name"),
        confidence=_number(intent.get("confidence")),
        guess=best.get("name"),
        guess_confidence=_number(best.get("confidence")),
    )


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) else None


def user_event(engine: Engine, sender: str, event_id: int) -> tuple[datetime, Said] | None:
    """One resident message by its event id (and its conversation), or None."""
    query = select(EVENTS.c.timestamp, EVENTS.c.data).where(
        EVENTS.c.id == event_id, EVENTS.c.sender_id == sender, EVENTS.c.type_name == "user"
    )
    with reading(engine) as connection:
        row = connection.execute(query).first()
    return None if row is None else (moment(row[0]), parse_user(row[1]))
