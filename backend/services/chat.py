"""The web chat inbox: store first, forward in order, retry until Rasa answers.

A message is written to the database before anything else happens, so a
crash, a Rasa restart or an action server outage never loses it. Delivery to
Rasa goes through a *lease*: whoever moves ``next_attempt_at`` forward in one
UPDATE owns the attempt, so the web app and the worker never forward the same
message twice. A sender's messages go to Rasa strictly in the order sent: a
later message waits while an earlier one is still pending.

The lease and settling an attempt are :mod:`backend.services.chat_leases`;
what a message may hold is :mod:`backend.services.chat_text`; reply rows are
:mod:`backend.services.chat_replies`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from sqlalchemy import bindparam, select
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session, sessionmaker

from backend.models.base import utcnow
from backend.models.chat import PENDING, ChatMessage, ChatReply
from backend.services.chat_leases import (
    StoredMessage,
    claim,
    message_values,
    record_answer,
    record_failure,
    release,
    store_leased_message,
)

logger = logging.getLogger(__name__)

Forward = Callable[[str, str], Awaitable[list[dict[str, Any]]]]


@dataclass(frozen=True)
class DeliveryReport:
    """What one delivery round did for a sender, and what its caller read in its last transaction."""

    answered: int
    pending: int
    read: Any = None


# Built once, as the lease's statements are (:mod:`backend.services.chat_leases`).
_PENDING = (
    select(ChatMessage.id, ChatMessage.text)
    .where(ChatMessage.sender == bindparam("sender"), ChatMessage.status == PENDING)
    .order_by(ChatMessage.id)
)
_REPLIES_SINCE = (
    select(ChatReply.id, ChatReply.payload)
    .where(ChatReply.sender == bindparam("sender"), ChatReply.id > bindparam("after_id"))
    .order_by(ChatReply.id)
    .limit(bindparam("limit"))
)


def record_message(*, session: Session, sender: str, text: str) -> ChatMessage:
    """Store a visitor's message as pending, due for delivery at once (see also :func:`store_leased_message`)."""
    message = ChatMessage(**message_values(sender=sender, text=text, leased=False, now=utcnow()))
    session.add(message)
    session.flush()
    return message


def pending_messages(*, session: Session, sender: str) -> list[Row[tuple[int, str]]]:
    """A sender's undelivered messages, oldest first, as plain (id, text) rows (no ORM objects: a hot path)."""
    return list(session.execute(_PENDING, {"sender": sender}).all())


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
        release(session, leased.id, leased.created_at)
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
