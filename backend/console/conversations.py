"""Reading Rasa's SQL tracker store for the console: conversations, transcripts, exports.

The store belongs to Rasa; the console only reads it, through an engine of
its own that cannot write (SQLite opened with ``mode=ro``, PostgreSQL with
``default_transaction_read_only``). Rasa is not imported: its ``events``
table is described here and each event's JSON is parsed by hand. A
conversation is one sender id (``web:<visitor>``, ``telegram:<chat id>``;
the channel is the prefix). Every text leaves this module masked
(:func:`backend.privacy.mask_text`); only the search looks at the real text.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from typing import Any
from urllib.parse import quote

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.engine import Connection, Engine, create_engine, make_url
from sqlalchemy.exc import OperationalError, ProgrammingError

from backend.categories import DISTRICT_TZ
from backend.privacy import mask_text
from backend.tracker_events import EVENTS

FALLBACK_INTENT = "nlu_fallback"
FALLBACK_ACTION = "action_default_fallback"
CHANNELS = {"web": "网页", "telegram": "Telegram", "rest": "其他"}


class TrackerUnavailable(Exception):
    """The tracker store cannot be read (not created yet, or unreachable)."""


@lru_cache(maxsize=8)
def read_only_engine(url: str) -> Engine:
    """An engine on the tracker store that cannot write (one per URL and process)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = parsed.database or ""
        if not path or path == ":memory:":
            raise TrackerUnavailable("对话记录库没有配置成文件。")
        return create_engine(
            f"sqlite:///file:{quote(path)}?mode=ro&uri=true",
            future=True,
            connect_args={"check_same_thread": False, "timeout": 15},
        )
    if parsed.get_backend_name() == "postgresql":
        return create_engine(
            parsed,
            future=True,
            pool_pre_ping=True,
            connect_args={"options": "-c default_transaction_read_only=on"},
        )
    raise TrackerUnavailable(f"不支持这种对话记录库：{parsed.get_backend_name()}")


def split_sender(sender: str) -> tuple[str, str]:
    """Channel and channel id of a sender id, as the action server splits it (no prefix: ``rest``)."""
    channel, _, rest = sender.partition(":")
    if not rest:
        return "rest", sender
    return channel[:16], rest


def shown_sender(sender: str) -> str:
    """The sender id as pages show it: a Telegram chat id is a person's, so only its last 4 digits."""
    channel, rest = split_sender(sender)
    if channel == "telegram":
        return f"telegram:{'*' * max(0, len(rest) - 4)}{rest[-4:]}"
    return mask_text(sender)


# Who a conversation is with, by channel, as pages name them (with a number that tells conversations apart).
SENDER_KINDS = {"web": "网页访客", "telegram": "Telegram 用户", "rest": "其他渠道访客"}


def sender_label(sender: str) -> str:
    """A conversation as pages name it: 网页访客 #482193, Telegram 用户 #031775.

    The number is derived from the whole sender id (six digits of its
    SHA-256), so it tells conversations apart and stays the same on every
    page, without showing any part of a chat id or reading like a masked
    phone number. Exports keep :func:`shown_sender`.
    """
    channel, _ = split_sender(sender)
    number = int(hashlib.sha256(sender.encode("utf-8")).hexdigest()[:8], 16) % 1_000_000
    return f"{SENDER_KINDS.get(channel, SENDER_KINDS['rest'])} #{number:06d}"


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


def user_event(engine: Engine, sender: str, event_id: int) -> tuple[datetime, Said] | None:
    """One resident message by its event id (and its conversation), or None."""
    query = select(EVENTS.c.timestamp, EVENTS.c.data).where(
        EVENTS.c.id == event_id, EVENTS.c.sender_id == sender, EVENTS.c.type_name == "user"
    )
    with reading(engine) as connection:
        row = connection.execute(query).first()
    return None if row is None else (moment(row[0]), parse_user(row[1]))


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


@contextmanager
def reading(engine: Engine) -> Iterator[_Guarded]:
    """A connection to the tracker store; an unreadable store becomes :class:`TrackerUnavailable`."""
    try:
        connection = engine.connect()
    except OperationalError as exc:
        raise TrackerUnavailable("对话记录库暂时打不开（机器人可能还没有收到过消息）。") from exc
    try:
        yield _Guarded(connection)
    finally:
        connection.close()


class _Guarded:
    """Turns "no such table" and the like into :class:`TrackerUnavailable`."""

    def __init__(self, connection: Connection):
        self.connection = connection

    def execute(self, statement: Any) -> Any:
        try:
            return self.connection.execute(statement)
        except (OperationalError, ProgrammingError) as exc:
            raise TrackerUnavailable("对话记录库暂时读不了，请稍后再试。") from exc
