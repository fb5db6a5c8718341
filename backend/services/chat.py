"""The web chat inbox: store first, forward in order, retry until Rasa answers.

A message is written to the database before anything else happens, so a
crash, a Rasa restart or an action server outage never loses it. Delivery to
Rasa goes through a *lease*: whoever moves ``next_attempt_at`` forward in one
UPDATE owns the attempt, so the web app and the worker never forward the same
message twice. A sender's messages go to Rasa strictly in the order sent: a
later message waits while an earlier one is still pending.
"""

from __future__ import annotations

import logging
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Awaitable, Callable, Sequence

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session, sessionmaker

from backend import messages
from backend.errors import InvalidInput
from backend.models.base import utcnow
from backend.models.chat import ANSWERED, PENDING, ChatMessage, ChatReply
from backend.queues import owners_with_due_head

logger = logging.getLogger(__name__)

MAX_MESSAGE_CHARS = 2000
# Channels whose replies a bridge pushes out (and records as delivered);
# the web page fetches its own, so a web reply is delivered once stored.
PUSHED_CHANNELS = ("telegram",)
LEASE = timedelta(seconds=60)
MAX_BACKOFF_SECONDS = 60

Forward = Callable[[str, str], Awaitable[list[dict[str, Any]]]]


@dataclass(frozen=True)
class DeliveryReport:
    """What one delivery round did for a sender, and what its caller read in its last transaction."""

    answered: int
    pending: int
    read: Any = None


# Bidirectional embeddings, overrides and isolates reorder how the rest of a
# line is displayed (a console user would read another text than was sent).
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Characters that show nothing on their own: a message of only these is empty.
_INVISIBLE = frozenset(("Cc", "Cf", "Cs", "Zs", "Zl", "Zp"))


def _kept(ch: str) -> bool:
    """Whether a character of a visitor's message is kept.

    Not ``str.isprintable``: it drops the zero-width joiner inside emoji
    (👨‍👩‍👧), the ideographic space (　) and every emoji newer than Python's
    Unicode tables (🫠 is "unassigned" to Python 3.10), which residents do send.
    """
    if ch in "\n\t":
        return True
    category = unicodedata.category(ch)
    return category not in ("Cc", "Cs") and ch not in _BIDI_CONTROLS


def clean_text(raw: str) -> str:
    """Validate a visitor's message: trimmed, not empty, not over the limit.

    Control characters other than newlines and tabs, lone surrogates and
    bidirectional overrides are dropped; everything else (emoji, any script,
    markup) is kept as typed and escaped where shown.

    Raises:
        InvalidInput: empty (or nothing visible in it), or longer than :data:`MAX_MESSAGE_CHARS`.
    """
    text = "".join(ch for ch in raw if _kept(ch)).strip()
    if all(unicodedata.category(ch) in _INVISIBLE for ch in text):  # also "": nothing, or only a zero-width space
        raise InvalidInput(messages.EMPTY_MESSAGE)
    if len(text) > MAX_MESSAGE_CHARS:
        raise InvalidInput(messages.TOO_LONG.format(length=len(text), limit=MAX_MESSAGE_CHARS))
    return text


def is_pushed(sender: str) -> bool:
    """Whether replies to this sender wait for a bridge to push them (``telegram:…``)."""
    return sender.split(":", 1)[0] in PUSHED_CHANNELS


def _reply_values(*, sender: str, payload: dict[str, Any], now: datetime, message_id: int | None) -> dict[str, Any]:
    return {
        "message_id": message_id,
        "sender": sender,
        "payload": payload,
        "created_at": now,
        "delivered_at": None if is_pushed(sender) else now,
        "delivery_attempts": 0,
    }


def new_reply(*, sender: str, payload: dict[str, Any], now: datetime, message_id: int | None = None) -> ChatReply:
    """A bot message for a sender: an answer to ``message_id``, or news (a ticket changed) when None."""
    return ChatReply(**_reply_values(sender=sender, payload=payload, now=now, message_id=message_id))


def _message_values(*, sender: str, text: str, leased: bool, now: datetime) -> dict[str, Any]:
    return {
        "sender": sender,
        "text": clean_text(text),
        "status": PENDING,
        "next_attempt_at": now + LEASE if leased else now,
        "attempts": 1 if leased else 0,
        "created_at": now,
    }


# The web chat's statements for every message, built once: building a
# statement and its cache key was a fifth of the web app's CPU (make bench).
_PENDING = (
    select(ChatMessage.id, ChatMessage.text)
    .where(ChatMessage.sender == bindparam("sender"), ChatMessage.status == PENDING)
    .order_by(ChatMessage.id)
)
_INSERT_MESSAGE = insert(ChatMessage)
_INSERT_REPLIES = insert(ChatReply)
_ANSWERED = (
    update(ChatMessage)
    .where(ChatMessage.id == bindparam("message_id"), ChatMessage.sender == bindparam("message_sender"))
    .values(status=ANSWERED, answered_at=bindparam("now"), last_error=None)
    .execution_options(synchronize_session=False)
)
_REPLIES_SINCE = (
    select(ChatReply.id, ChatReply.payload)
    .where(ChatReply.sender == bindparam("sender"), ChatReply.id > bindparam("after_id"))
    .order_by(ChatReply.id)
    .limit(bindparam("limit"))
)


@dataclass(frozen=True)
class StoredMessage:
    """A message just stored (by a plain INSERT: no ORM object for the hot path)."""

    id: int
    text: str
    created_at: datetime


def store_leased_message(*, session: Session, sender: str, text: str) -> StoredMessage:
    """Store a visitor's message with its delivery lease already taken, for a caller that forwards it itself.

    The lease is what :func:`claim` would write: the claim's own UPDATE was
    one round trip more on every web chat message. Written without the
    ORM's unit of work (the web chat does this for every message).
    """
    values = _message_values(sender=sender, text=text, leased=True, now=utcnow())
    result = session.execute(_INSERT_MESSAGE, values)
    return StoredMessage(id=int(result.inserted_primary_key[0]), text=values["text"], created_at=values["created_at"])


def record_message(*, session: Session, sender: str, text: str) -> ChatMessage:
    """Store a visitor's message as pending, due for delivery at once (see also :func:`store_leased_message`)."""
    message = ChatMessage(**_message_values(sender=sender, text=text, leased=False, now=utcnow()))
    session.add(message)
    session.flush()
    return message


def _release(session: Session, message_id: int, due: datetime) -> None:
    """Give back a lease taken in :func:`store_leased_message` and not used: the message is due again, untried."""
    session.execute(
        update(ChatMessage)
        .where(ChatMessage.id == message_id)
        .values(next_attempt_at=due, attempts=0)
        .execution_options(synchronize_session=False)
    )


def claim(*, session: Session, message_id: int, now: datetime | None = None) -> bool:
    """Take the lease on a pending, due message; ``False`` if someone else has it."""
    now = now or utcnow()
    result = session.execute(
        update(ChatMessage)
        .where(ChatMessage.id == message_id, ChatMessage.status == PENDING, ChatMessage.next_attempt_at <= now)
        .values(next_attempt_at=now + LEASE, attempts=ChatMessage.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def record_answer(*, session: Session, message_id: int, sender: str, answers: Sequence[dict[str, Any]]) -> int:
    """Mark a message (of ``sender``) answered and store Rasa's answers as replies; how many were stored.

    One UPDATE by id, without loading the message first (the web chat
    settles a message per request; loading it was a tenth of the app's
    CPU), and one INSERT of the replies without the ORM's unit of work.
    """
    now = utcnow()
    updated = session.execute(_ANSWERED, {"message_id": message_id, "message_sender": sender, "now": now})
    if updated.rowcount != 1:
        raise LookupError(f"no message {message_id} from {sender}")
    if answers:
        session.execute(
            _INSERT_REPLIES,
            [_reply_values(message_id=message_id, sender=sender, payload=dict(a), now=now) for a in answers],
        )
    return len(answers)


def record_failure(*, session: Session, message_id: int, error: str) -> None:
    """Keep the message pending and schedule the next attempt with back-off.

    On a pushed channel (Telegram) the first failure of a message also queues,
    in this same transaction, one reply telling the resident it is kept and
    will be retried: said once per message, and never lost to a crash
    between the failure and the notice. (The web page shows its own notice.)
    """
    message = session.get(ChatMessage, message_id)
    assert message is not None
    delay = min(MAX_BACKOFF_SECONDS, 2 ** max(0, message.attempts - 1))
    message.next_attempt_at = utcnow() + timedelta(seconds=delay)
    message.last_error = error[:200]
    if message.attempts == 1 and is_pushed(str(message.sender)):
        session.add(
            new_reply(sender=str(message.sender), message_id=message.id, payload={"text": messages.BUSY}, now=utcnow())
        )
    session.flush()


def pending_messages(*, session: Session, sender: str) -> list[Row[tuple[int, str]]]:
    """A sender's undelivered messages, oldest first, as plain (id, text) rows (no ORM objects: a hot path)."""
    return list(session.execute(_PENDING, {"sender": sender}).all())


def senders_with_due_messages(
    *,
    session: Session,
    now: datetime | None = None,
    limit: int = 100,
    prefix: str = "",
    grace: timedelta = timedelta(0),
) -> list[str]:
    """Senders whose oldest pending message is due for an attempt (later ones wait for it).

    ``prefix`` (``"telegram:"``) limits it to one channel, so a crowd of
    waiting web visitors never crowds a channel's own sweep out. ``grace``
    leaves a message that no attempt has failed yet to the request that
    stored it for that long: the worker's sweep once took a message the web
    request was about to deliver, and the visitor got their answer two
    seconds later through the retry instead of at once (``make bench``).
    """
    now = now or utcnow()
    return owners_with_due_head(
        session,
        owner=ChatMessage.sender,
        order=ChatMessage.id,
        waiting=(ChatMessage.status == PENDING) & ChatMessage.sender.like(f"{prefix}%"),
        due=(ChatMessage.next_attempt_at <= now)
        & ((ChatMessage.created_at <= now - grace) | ChatMessage.last_error.is_not(None)),
        limit=limit,
    )


def replies_since(*, session: Session, sender: str, after_id: int, limit: int = 200) -> list[Row[tuple[int, Any]]]:
    """Bot replies to this sender newer than ``after_id``, oldest first, as plain (id, payload) rows."""
    return list(session.execute(_REPLIES_SINCE, {"sender": sender, "after_id": after_id, "limit": limit}).all())


def _take_head(
    session: Session, sender: str, leased: StoredMessage | None = None
) -> tuple[tuple[int, str] | None, int]:
    """The sender's oldest pending message if this caller won its lease, and how many are pending.

    ``leased``: a message this caller has just stored with its lease taken.
    When it is the oldest (nearly always) it is the head without a claim;
    behind an older one it gives its lease back and waits its turn.
    """
    queue = pending_messages(session=session, sender=sender)
    if leased is not None:
        if queue and queue[0].id == leased.id:
            return (leased.id, leased.text), len(queue)
        _release(session, leased.id, leased.created_at)
    if not queue or not claim(session=session, message_id=queue[0].id):
        return None, len(queue)
    return (queue[0].id, str(queue[0].text)), len(queue)


async def deliver_pending(
    *,
    sessions: sessionmaker[Session],
    sender: str,
    forward: Forward,
    read: Callable[[Session], Any] | None = None,
    store: str | None = None,
) -> DeliveryReport:
    """Forward a sender's pending messages to Rasa in order, stopping at the first failure.

    Each message is claimed, forwarded and settled in short transactions of
    its own, so no database lock is held while Rasa thinks; settling one
    message, claiming the next and the caller's ``read`` share a
    transaction (the web chat used five per message, each with its
    connection check; now two, its message stored in the first).

    Args:
        sessions: the session factory (this function owns its transactions).
        sender: the Rasa sender id (``web:<uuid>``).
        forward: sends one message and returns the answers; raises on failure.
        read: called in the last transaction (the one that found nothing more
            to forward, or recorded the failure); its result is the report's
            ``read``. The web chat reads the new replies there. Should it
            raise, the transaction still commits and it is called once more
            in a transaction of its own.
        store: a new message of ``sender``, stored in the transaction that
            takes the head (committed before anything is forwarded). For a
            caller that holds the sender's turn already; one whose turn is
            taken stores its message first, on its own, and then waits.

    Raises:
        InvalidInput: ``store`` is empty or too long (nothing was stored or forwarded).
    """
    unread = object()

    def reading(session: Session) -> Any:
        # A failing read must not roll back the answer recorded beside it (the
        # message would be forwarded again): it is tried again after the commit.
        if read is None:
            return None
        try:
            return read(session)
        except Exception:  # the caller's code: logged, then tried once more
            logger.exception("reading after delivering to %s failed; reading again after the commit", sender)
            return unread

    def settled(result: Any) -> Any:
        if result is not unread:
            return result
        assert read is not None  # only a read that raised leaves it unread
        with sessions() as session:
            return read(session)

    answered = 0
    with sessions.begin() as session:
        stored = store_leased_message(session=session, sender=sender, text=store) if store is not None else None
        head, waiting = _take_head(session, sender, stored)
        result = reading(session) if head is None else None
    while head is not None:
        message_id, text = head
        try:
            answers = await forward(sender, text)
        except Exception as exc:  # noqa: BLE001 - any failure keeps the message for retry
            logger.warning("message %s for %s not delivered: %s", message_id, sender, exc)
            with sessions.begin() as session:
                record_failure(session=session, message_id=message_id, error=str(exc))
                waiting = len(pending_messages(session=session, sender=sender))
                result = reading(session)
            return DeliveryReport(answered=answered, pending=waiting, read=settled(result))
        answered += 1
        with sessions.begin() as session:
            record_answer(session=session, message_id=message_id, sender=sender, answers=answers)
            head, waiting = _take_head(session, sender)
            result = reading(session) if head is None else None
    return DeliveryReport(answered=answered, pending=waiting, read=settled(result))


def recent_history(
    *, session: Session, sender: str, limit: int = 30
) -> list[tuple[ChatMessage | None, list[ChatReply]]]:
    """The sender's last ``limit`` messages, oldest first, each with its replies.

    Notifications (replies to no message: a ticket changed) come in their
    place in time, as ``(None, [reply])``.
    """
    newest = list(
        session.scalars(
            select(ChatMessage).where(ChatMessage.sender == sender).order_by(ChatMessage.id.desc()).limit(limit)
        )
    )
    newest.reverse()
    if not newest:
        return []
    replies = session.scalars(
        select(ChatReply).where(ChatReply.message_id.in_([m.id for m in newest])).order_by(ChatReply.id)
    )
    by_message: dict[int, list[ChatReply]] = {m.id: [] for m in newest}
    for reply in replies:
        by_message[reply.message_id].append(reply)
    notices = session.scalars(
        select(ChatReply)
        .where(ChatReply.sender == sender, ChatReply.message_id.is_(None), ChatReply.created_at >= newest[0].created_at)
        .order_by(ChatReply.id)
    ).all()
    items: list[tuple[ChatMessage | None, list[ChatReply]]] = [(m, by_message[m.id]) for m in newest]
    items += [(None, [notice]) for notice in notices]
    return sorted(items, key=lambda item: item[0].created_at if item[0] is not None else item[1][0].created_at)
