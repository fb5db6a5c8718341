"""Outgoing Telegram messages: the replies and news waiting in a chat, sent in order within the limits.

Everything the bot says on Telegram is first a :class:`~backend.models.chat.ChatReply`
with ``delivered_at`` empty: Rasa's answers, the bridge's own notices and
ticket news (:mod:`backend.notifications`, written with the ticket's change). :func:`send_due` sends one chat's
waiting replies oldest first through python-telegram-bot, waiting for the
rate limiter (:mod:`bot.rate_limit`), and records each one Telegram
accepted. On a 429 it holds the chat for ``retry_after``; on a 5xx, a
network error or a timeout it backs off; either way the chat's later
replies wait, so the order holds; an outage of any length is waited out.
A chat that cannot be reached (the resident blocked the bot) or a message
Telegram refuses is given up after one try, and the reply is kept.

A timeout is ambiguous (Telegram may have got the message); it is retried,
so in that one case a resident may see a message twice rather than never.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError

from backend.models.base import utcnow
from backend.models.chat import DELIVERY_GAVE_UP, ChatReply
from backend.queues import owners_with_due_head
from bot.rate_limit import RateLimiter

logger = logging.getLogger(__name__)

TEXT_LIMIT = 4096
CALLBACK_DATA_LIMIT = 64
FIRST_BACKOFF_SECONDS = 2.0
MAX_BACKOFF_SECONDS = 300.0


def keyboard(buttons: list[Any]) -> InlineKeyboardMarkup | None:
    """Rasa's buttons as an inline keyboard, one per row; pressing one sends its payload back.

    Telegram allows 64 bytes of callback data: a longer payload is sent as
    the button's title, which the conversation understands as text.
    """
    rows = []
    for button in buttons:
        if not isinstance(button, dict):
            continue
        title = str(button.get("title", ""))[:64] or "…"
        payload = str(button.get("payload", "")) or title
        if len(payload.encode()) > CALLBACK_DATA_LIMIT:
            payload = payload_bytes_cut(title)
        rows.append([InlineKeyboardButton(title, callback_data=payload)])
    return InlineKeyboardMarkup(rows) if rows else None


def payload_bytes_cut(text: str) -> str:
    """``text`` cut to Telegram's 64 bytes of callback data, never inside a character."""
    return text.encode()[:CALLBACK_DATA_LIMIT].decode(errors="ignore") or "…"


def render(payload: dict[str, Any]) -> list[tuple[str, InlineKeyboardMarkup | None]]:
    """One reply as Telegram messages: text cut at Telegram's limit, the keyboard on the last part."""
    text = str(payload.get("text") or "")
    markup = keyboard(list(payload.get("buttons") or []))
    if not text and markup is None:
        return []
    parts = [text[i : i + TEXT_LIMIT] for i in range(0, len(text), TEXT_LIMIT)] or ["请选择："]
    return [(part, markup if i == len(parts) - 1 else None) for i, part in enumerate(parts)]


def chat_id_of(sender: str) -> int:
    """The Telegram chat of a ``telegram:<user id>`` sender (the bridge serves private chats only)."""
    return int(sender.split(":", 1)[1])


def senders_with_due_replies(*, session: Session, now: datetime | None = None, limit: int = 200) -> list[str]:
    """Telegram senders whose oldest unsent reply is due."""
    return owners_with_due_head(
        session,
        owner=ChatReply.sender,
        order=ChatReply.id,
        waiting=(
            ChatReply.delivered_at.is_(None)
            & ChatReply.sender.like("telegram:%")
            & (ChatReply.delivery_attempts < DELIVERY_GAVE_UP)
        ),
        due=ChatReply.next_delivery_at.is_(None) | (ChatReply.next_delivery_at <= (now or utcnow())),
        limit=limit,
    )


@dataclass
class SendReport:
    """What one pass over a chat did."""

    sent: int = 0
    waiting: int = 0


def retry_seconds(exc: RetryAfter) -> float:
    """The wait a 429 named, in seconds (python-telegram-bot gives an int or a timedelta)."""
    wait = exc.retry_after
    return wait.total_seconds() if isinstance(wait, timedelta) else float(wait)


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(MAX_BACKOFF_SECONDS, FIRST_BACKOFF_SECONDS * 2 ** max(0, attempts - 1)))


def _failed(
    sessions: sessionmaker[Session], reply_id: int, error: str, *, wait: timedelta | None, give_up: bool
) -> None:
    with sessions.begin() as session:
        reply = session.get(ChatReply, reply_id)
        assert reply is not None
        # Only a refusal gives up; an outage of any length is waited out (the back-off is capped).
        attempts = min(int(reply.delivery_attempts) + 1, DELIVERY_GAVE_UP - 1)
        reply.delivery_attempts = DELIVERY_GAVE_UP if give_up else attempts
        reply.delivery_error = error[:200]
        reply.next_delivery_at = utcnow() + (wait if wait is not None else _backoff(int(reply.delivery_attempts)))


def coalesce(payloads: list[dict[str, Any]]) -> int:
    """How many of the leading replies go out as one Telegram message.

    Consecutive replies without buttons are joined (up to Telegram's length
    limit), ending with the first that has buttons: a three-part answer is
    one message, which keeps a chat under one message a second without
    making the resident wait.
    """
    length, count = 0, 0
    for payload in payloads:
        text = str(payload.get("text") or "")
        if count and length + 2 + len(text) > TEXT_LIMIT:
            break
        length += (2 if count else 0) + len(text)
        count += 1
        if payload.get("buttons"):
            break
    return max(1, count)


def _joined(payloads: list[dict[str, Any]]) -> dict[str, Any]:
    text = "\n\n".join(str(p.get("text") or "") for p in payloads if p.get("text"))
    return {"text": text, "buttons": list(payloads[-1].get("buttons") or [])}


async def send_due(
    *, sessions: sessionmaker[Session], sender: str, bot: Bot, limiter: RateLimiter, batch: int = 20
) -> SendReport:
    """Send a chat's waiting replies in order; stop at the first that Telegram refuses for now."""
    report = SendReport()
    chat_id = chat_id_of(sender)
    sent: list[int] = []  # replies Telegram took, marked delivered with the next read
    while True:
        with sessions.begin() as session:
            if sent:
                session.execute(
                    update(ChatReply)
                    .where(ChatReply.id.in_(sent))
                    .values(delivered_at=utcnow(), delivery_error=None)
                    .execution_options(synchronize_session=False)
                )
                report.sent += len(sent)
                sent = []
            waiting = session.scalars(
                select(ChatReply)
                .where(
                    ChatReply.sender == sender,
                    ChatReply.delivered_at.is_(None),
                    ChatReply.delivery_attempts < DELIVERY_GAVE_UP,
                )
                .order_by(ChatReply.id)
                .limit(batch)
            ).all()
            if not waiting:
                return report
            head = waiting[0]
            if head.next_delivery_at is not None and head.next_delivery_at > utcnow():
                report.waiting += len(waiting)
                return report
            fresh = [head]
            for reply in waiting[1:] if head.delivery_attempts == 0 else []:  # never-tried replies may go together
                if reply.delivery_attempts or reply.next_delivery_at is not None:
                    break
                fresh.append(reply)
            payloads = [dict(r.payload or {}) for r in fresh]
            count = coalesce(payloads)
            reply_ids = [int(r.id) for r in fresh[:count]]
            payload = _joined(payloads[:count]) if count > 1 else payloads[0]
        head_id = reply_ids[0]
        try:
            for text, markup in render(payload):
                await limiter.acquire(chat_id)
                await bot.send_message(chat_id=chat_id, text=text, reply_markup=markup)
        except RetryAfter as exc:
            seconds = retry_seconds(exc)
            limiter.hold(chat_id, seconds)
            _failed(
                sessions, head_id, f"429 retry after {seconds:.0f}s", wait=timedelta(seconds=seconds), give_up=False
            )
            report.waiting += 1
            return report
        except Forbidden as exc:
            logger.warning("chat %s cannot be reached (%s); replies %s kept unsent", chat_id, exc, reply_ids)
            for reply_id in reply_ids:
                _failed(sessions, reply_id, f"Forbidden: {exc}", wait=None, give_up=True)
            continue
        except BadRequest as exc:
            if len(reply_ids) > 1:
                # One of the joined replies is refused: send them one by one, so only that one is given up.
                for reply_id in reply_ids:
                    _failed(sessions, reply_id, f"BadRequest (joined): {exc}", wait=timedelta(0), give_up=False)
                continue
            # The message itself is refused (chat not found, bad markup): retrying cannot help.
            logger.warning("Telegram refused reply %s for chat %s: %s", reply_ids[0], chat_id, exc)
            _failed(sessions, reply_ids[0], f"BadRequest: {exc}", wait=None, give_up=True)
            continue
        except TelegramError as exc:  # NetworkError, TimedOut, 5xx: try again later
            logger.info("replies %s for chat %s not sent yet: %s", reply_ids, chat_id, exc)
            _failed(sessions, head_id, f"{type(exc).__name__}: {exc}", wait=None, give_up=False)
            report.waiting += 1
            return report
        sent = reply_ids
