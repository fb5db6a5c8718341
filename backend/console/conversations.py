"""Reading Rasa's SQL tracker store for the console: conversations, transcripts, exports.

The store is read through the engine of :mod:`backend.console.tracker_access`,
which cannot write; resident messages are parsed by
:mod:`backend.console.user_events` and senders shown through
:mod:`backend.console.senders`. Every text leaves this module masked
(:func:`backend.privacy.mask_text`); only the search looks at the real text.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import quote

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.engine import Engine

from backend.categories import DISTRICT_TZ
from backend.console.senders import shown_sender
from backend.console.tracker_access import reading
from backend.console.user_events import FALLBACK_ACTION, FALLBACK_INTENT, moment, parse_user
from backend.privacy import mask_text
from backend.services.residents import split_sender
from backend.tracker_events import EVENTS


@dataclass
class Filters:
    """The list's filters, from the query string."""

    channel: str = ""
    since: date | None = None
    until: date | None = None
    flagged: bool = False
    has_ticket: bool = False
    q: str = ""

    def query_string(self) -> str:
        """The filters as a query string (for paging and export links)."""
        parts = {
            "channel": self.channel,
            "since": self.since.isoformat() if self.since else "",
            "until": self.until.isoformat() if self.until else "",
            "flagged": "1" if self.flagged else "",
            "has_ticket": "1" if self.has_ticket else "",
            "q": self.q,
        }
        return "&".join(f"{k}={quote(v)}" for k, v in parts.items() if v)


@dataclass
class Conversation:
    """One row of the list."""

    sender_id: str
    first_at: datetime
    last_at: datetime
    turns: int
    fallback: bool
    low_confidence: bool = False
    flagged: bool = False
    tickets: list[str] = field(default_factory=list)

    @property
    def channel(self) -> str:
        """``web``, ``telegram`` or ``rest``."""
        return split_sender(self.sender_id)[0]

    @property
    def shown(self) -> str:
        """The sender id as pages show it."""
        return shown_sender(self.sender_id)


def _fallback_expr() -> Any:
    hit = or_(
        and_(EVENTS.c.type_name == "user", EVENTS.c.intent_name == FALLBACK_INTENT),
        EVENTS.c.action_name == FALLBACK_ACTION,
    )
    return func.max(case((hit, 1), else_=0))


def _local_start(day: date) -> float:
    return datetime.combine(day, time(0), DISTRICT_TZ).timestamp()


def _search(term: str) -> Any:
    """Senders with a resident message containing ``term`` (Rasa writes the JSON ASCII-escaped)."""
    escaped = json.dumps(term)[1:-1]
    hit = or_(EVENTS.c.data.contains(escaped, autoescape=True), EVENTS.c.data.contains(term, autoescape=True))
    return select(EVENTS.c.sender_id).where(EVENTS.c.type_name == "user", hit)


def list_conversations(
    engine: Engine,
    filters: Filters,
    *,
    threshold: float,
    page: int = 1,
    per_page: int = 50,
    ticket_senders: set[str] | None = None,
    flagged_senders: set[str] | None = None,
) -> tuple[list[Conversation], bool]:
    """One page of conversations, newest first, and whether there is another page.

    ``ticket_senders``: the sender ids of residents with tickets (for the "has a
    ticket" filter); ``flagged_senders``: senders with messages in the review
    queue (with fallbacks, they make "flagged only").
    """
    fallback = _fallback_expr()
    turns = func.sum(case((EVENTS.c.type_name == "user", 1), else_=0))
    query = select(
        EVENTS.c.sender_id, func.min(EVENTS.c.timestamp), func.max(EVENTS.c.timestamp), turns, fallback
    ).group_by(EVENTS.c.sender_id)
    if filters.channel == "rest":
        query = query.where(~EVENTS.c.sender_id.contains(":"))
    elif filters.channel:
        query = query.where(EVENTS.c.sender_id.startswith(filters.channel + ":", autoescape=True))
    if filters.since:
        query = query.where(EVENTS.c.timestamp >= _local_start(filters.since))
    if filters.until:
        query = query.where(EVENTS.c.timestamp < _local_start(filters.until + timedelta(days=1)))
    if filters.q.strip():
        query = query.where(EVENTS.c.sender_id.in_(_search(filters.q.strip())))
    if filters.has_ticket:
        query = query.where(EVENTS.c.sender_id.in_(sorted(ticket_senders or set())))
    if filters.flagged:
        query = query.having(or_(fallback == 1, EVENTS.c.sender_id.in_(sorted(flagged_senders or set()))))
    query = query.order_by(func.max(EVENTS.c.timestamp).desc(), EVENTS.c.sender_id)
    query = query.limit(per_page + 1).offset((max(page, 1) - 1) * per_page)
    with reading(engine) as connection:
        rows = connection.execute(query).all()
        found = [
            Conversation(sender_id=r[0], first_at=moment(r[1]), last_at=moment(r[2]), turns=int(r[3] or 0),
                         fallback=bool(r[4]), flagged=r[0] in (flagged_senders or set()))
            for r in rows[:per_page]
        ]  # fmt: skip
        if found:
            low = connection.execute(
                select(EVENTS.c.sender_id, EVENTS.c.data).where(
                    EVENTS.c.type_name == "user", EVENTS.c.sender_id.in_([c.sender_id for c in found])
                )
            )
            unsure = {sender for sender, data in low if parse_user(data).low(threshold)}
            for c in found:
                c.low_confidence = c.sender_id in unsure
    return found, len(rows) > per_page


@dataclass
class Turn:
    """One line of a transcript: the resident's message with what the NLU made of it, or the bot's answer."""

    event_id: int
    at: datetime
    speaker: str  # resident | bot
    text: str  # masked
    intent: str | None = None
    confidence: float | None = None
    guess: str | None = None
    guess_confidence: float | None = None
    fallback: bool = False
    low: bool = False
    command: bool = False
    buttons: list[str] = field(default_factory=list)


def transcript(engine: Engine, sender: str, *, threshold: float, limit: int = 2000) -> list[Turn]:
    """The resident's messages and the bot's answers of one conversation, oldest first (masked)."""
    query = (
        select(EVENTS.c.id, EVENTS.c.type_name, EVENTS.c.timestamp, EVENTS.c.action_name, EVENTS.c.data)
        .where(EVENTS.c.sender_id == sender)
        .where(or_(EVENTS.c.type_name.in_(("user", "bot")), EVENTS.c.action_name == FALLBACK_ACTION))
        .order_by(EVENTS.c.id)
        .limit(limit)
    )
    turns: list[Turn] = []
    last_user: Turn | None = None
    with reading(engine) as connection:
        for event_id, kind, timestamp, action, data in connection.execute(query):
            if kind == "user":
                said = parse_user(data)
                last_user = Turn(
                    event_id=event_id, at=moment(timestamp), speaker="resident", text=mask_text(said.text),
                    intent=said.intent, confidence=said.confidence, guess=said.guess,
                    guess_confidence=said.guess_confidence, fallback=said.fallback, low=said.low(threshold),
                    command=said.command,
                )  # fmt: skip
                turns.append(last_user)
            elif kind == "bot":
                turns.append(_bot_turn(event_id, timestamp, data))
            elif action == FALLBACK_ACTION and last_user is not None:
                last_user.fallback = True  # the dialogue policy gave up on it
                last_user.low = False
    return turns


def _bot_turn(event_id: int, timestamp: float | None, data: str | None) -> Turn:
    try:
        event = json.loads(data or "{}")
    except ValueError:
        event = {}
    buttons = ((event.get("data") or {}).get("buttons")) or []
    titles = [mask_text(str(b.get("title", ""))) for b in buttons if isinstance(b, dict)]
    return Turn(
        event_id=event_id, at=moment(timestamp), speaker="bot", text=mask_text(str(event.get("text") or "")),
        buttons=titles,
    )  # fmt: skip


def export_rows(
    engine: Engine,
    filters: Filters,
    *,
    threshold: float,
    ticket_senders: set[str] | None = None,
    flagged_senders: set[str] | None = None,
    per_page: int = 200,
) -> Iterator[dict[str, Any]]:
    """Every message of every conversation the filters select, masked, one dict each (streamed page by page)."""
    page = 1
    while True:
        found, more = list_conversations(
            engine, filters, threshold=threshold, page=page, per_page=per_page,
            ticket_senders=ticket_senders, flagged_senders=flagged_senders,
        )  # fmt: skip
        for conversation in found:
            for turn in transcript(engine, conversation.sender_id, threshold=threshold):
                yield {
                    "conversation": conversation.shown,
                    "channel": conversation.channel,
                    "event_id": turn.event_id,
                    "time": turn.at.astimezone(DISTRICT_TZ).isoformat(timespec="seconds"),
                    "speaker": turn.speaker,
                    "text": turn.text,
                    "intent": turn.intent or "",
                    "confidence": "" if turn.confidence is None else round(turn.confidence, 4),
                    "fallback": turn.fallback,
                    "low_confidence": turn.low,
                }
        if not more:
            return
        page += 1
