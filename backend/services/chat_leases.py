"""A chat message's delivery lease: storing a message with it, claiming it, giving it back, settling the attempt.

Whoever moves ``next_attempt_at`` forward in one UPDATE owns the attempt, so
the web app and the worker never forward the same message twice; an answer
settles the message, a failure schedules the next attempt with back-off.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Sequence

from sqlalchemy import bindparam, insert, update
from sqlalchemy.orm import Session

from backend import messages
from backend.models.base import utcnow
from backend.models.chat import ANSWERED, PENDING, ChatMessage, ChatReply
from backend.queues import owners_with_due_head
from backend.services.chat_replies import is_pushed, new_reply, reply_values
from backend.services.chat_text import clean_text

LEASE = timedelta(seconds=60)
MAX_BACKOFF_SECONDS = 60


def message_values(*, sender: str, text: str, leased: bool, now: datetime) -> dict[str, Any]:
    """A new message row's values: the cleaned text, pending, its lease taken (``leased``) or due at once."""
    return {
        "sender": sender,
        "text": clean_text(text),
        "status": PENDING,
        "next_attempt_at": now + LEASE if leased else now,
        "attempts": 1 if leased else 0,
        "created_at": now,
    }


# The web chat's statements for every message, built once: building a
# statement and its cache key per message cost the web app much CPU (docs/benchmark.md).
_INSERT_MESSAGE = insert(ChatMessage)
_INSERT_REPLIES = insert(ChatReply)
_ANSWERED = (
    update(ChatMessage)
    .where(ChatMessage.id == bindparam("message_id"), ChatMessage.sender == bindparam("message_sender"))
    .values(status=ANSWERED, answered_at=bindparam("now"), last_error=None)
    .execution_options(synchronize_session=False)
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
    values = message_values(sender=sender, text=text, leased=True, now=utcnow())
    result = session.execute(_INSERT_MESSAGE, values)
    return StoredMessage(id=int(result.inserted_primary_key[0]), text=values["text"], created_at=values["created_at"])


def release(session: Session, message_id: int, due: datetime) -> None:
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
            [reply_values(message_id=message_id, sender=sender, payload=dict(a), now=now) for a in answers],
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
    seconds later through the retry instead of at once.
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
