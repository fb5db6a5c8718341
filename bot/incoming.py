"""Incoming Telegram updates: store first, then turn them into chat messages in order.

:func:`store_update` runs for every update before Telegram is told it was
received (before the next ``getUpdates`` offset, or before the webhook
answers 200). It writes one row keyed by Telegram's ``update_id``; a second
delivery of the same update hits the primary key and is dropped.

:func:`ingest` then turns one user's stored updates, oldest first, into
messages of the chat inbox (:mod:`backend.services.chat`), which forwards
them to Rasa in order and retries them until Rasa answers. A photo is
downloaded and kept as the sender's (:mod:`backend.photos`) first; while
that fails, the update and the user's later ones wait. Anything the
conversation cannot take (empty after cleaning, too long, a sticker or a
voice message) is answered here, in Chinese, and kept. Group chats are not
served: reports carry phones and addresses.

The sender is always ``telegram:<from.id>`` from the update itself, never
from anything the message says.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from telegram import Update

from backend.errors import InvalidInput
from backend.models.base import utcnow
from backend.models.telegram import ANSWERED_HERE, IGNORED, INGESTED, RECEIVED, TelegramUpdate
from backend.photos import MAX_BYTES, photo_message, save_photo
from backend.queues import owners_with_due_head
from backend.services import chat as chat_service
from backend.services.chat_replies import new_reply
from backend.services.residents import get_or_create_resident

logger = logging.getLogger(__name__)

# Telegram commands and what the conversation receives for them.
COMMANDS = {"/start": "/greet", "/help": "/help", "/mytickets": "/ticket_status", "/points": "/points_balance"}
PHOTO_ATTEMPTS = 5
INGEST_BATCH = 20  # updates of one user turned into messages in one transaction
UNSUPPORTED = "我现在只看得懂文字和照片。请用文字说说遇到了什么问题、在哪里，也可以发照片。"
PHOTO_LOST = "这张照片没能收到，请再发一次。"
PHOTO_TOO_LARGE = "照片太大了，请压缩后再发。"

Download = Callable[[str], Awaitable[bytes]]


@dataclass(frozen=True)
class Incoming:
    """What the bridge keeps of one update."""

    update_id: int
    user_id: int | None
    chat_id: int | None
    kind: str  # text, button, photo, unsupported, other (nothing to answer: an edit, a group message)
    text: str | None = None
    file_id: str | None = None
    file_size: int | None = None
    callback_query_id: str | None = None


def read_update(update: Update) -> Incoming:
    """Classify an update and take from it only what the conversation needs."""
    user = update.effective_user
    chat = update.effective_chat
    other = Incoming(
        update_id=update.update_id, user_id=user.id if user else None, chat_id=chat.id if chat else None, kind="other"
    )
    if user is None or update.edited_message is not None or update.edited_channel_post is not None:
        return other
    if chat is not None and chat.type != "private":
        # Residents' reports carry phones and addresses: only private chats are served. A group
        # gets no answer (most members never started the bot, so it could not reach them anyway).
        return other
    query = update.callback_query
    if query is not None:
        return replace(other, kind="button", text=query.data or "", callback_query_id=query.id)
    message = update.message
    if message is None:
        return other
    if message.text is not None:
        text = message.text
        if text.startswith("/"):
            command = text.split()[0].split("@")[0]
            text = COMMANDS.get(command, text)
        return replace(other, kind="text", text=text)
    if message.photo:
        largest = message.photo[-1]
        return replace(other, kind="photo", file_id=largest.file_id, file_size=largest.file_size, text=message.caption)
    return replace(other, kind="unsupported")


def store_update(*, session: Session, incoming: Incoming, now: datetime | None = None) -> bool:
    """Keep an update; ``False`` when it was stored before (Telegram delivered it twice).

    On PostgreSQL and SQLite this is one ``INSERT … ON CONFLICT (update_id)
    DO NOTHING``, whose row count says whether the row is new: a repeat,
    even one stored by a concurrent delivery this very moment, inserts
    nothing and raises nothing. (It was a read, a savepoint, the insert and
    the savepoint's release: four round trips on every message, with the
    bridge's event loop stopped for each.) Other databases take that way.
    """
    at = now or utcnow()
    values = {
        "update_id": incoming.update_id,
        "user_id": incoming.user_id,
        "chat_id": incoming.chat_id,
        "kind": incoming.kind,
        "text": incoming.text,
        "file_id": incoming.file_id,
        "status": IGNORED if incoming.kind == "other" else RECEIVED,
        "attempts": 0,
        "next_attempt_at": at,
        "received_at": at,
    }
    insert = _INSERT_IF_NEW.get(session.get_bind().dialect.name)
    if insert is not None:
        return session.execute(insert, values).rowcount == 1
    if session.get(TelegramUpdate, incoming.update_id) is not None:
        return False
    try:
        with session.begin_nested():
            session.add(TelegramUpdate(**values))
    except IntegrityError:  # the same update stored by a concurrent delivery
        return False
    return True


_INSERT_IF_NEW = {
    "postgresql": postgresql.insert(TelegramUpdate.__table__).on_conflict_do_nothing(index_elements=["update_id"]),
    "sqlite": sqlite.insert(TelegramUpdate.__table__).on_conflict_do_nothing(index_elements=["update_id"]),
}


def users_with_due_updates(*, session: Session, now: datetime | None = None, limit: int = 200) -> list[int]:
    """Telegram users whose oldest waiting update is due."""
    users = owners_with_due_head(
        session,
        owner=TelegramUpdate.user_id,
        order=TelegramUpdate.update_id,
        waiting=TelegramUpdate.status == RECEIVED,
        due=TelegramUpdate.next_attempt_at <= (now or utcnow()),
        limit=limit,
    )
    return [int(u) for u in users]


def _answer_here(session: Session, row: TelegramUpdate, text: str, now: datetime) -> None:
    row.status = ANSWERED_HERE
    session.add(new_reply(sender=f"telegram:{row.user_id}", payload={"text": text}, now=now))


def _to_message(session: Session, row: TelegramUpdate, text: str, now: datetime) -> None:
    try:
        message = chat_service.record_message(session=session, sender=f"telegram:{row.user_id}", text=text)
    except InvalidInput as exc:
        _answer_here(session, row, str(exc), now)
        return
    row.status = INGESTED
    row.chat_message_id = message.id


def _save_photo(session: Session, row: TelegramUpdate, data: bytes, upload_dir: Path, now: datetime) -> None:
    resident = get_or_create_resident(session=session, channel="telegram", sender_id=str(row.user_id))
    try:
        photo = save_photo(session=session, resident=resident, data=data, upload_dir=upload_dir, now=now)
    except InvalidInput as exc:
        _answer_here(session, row, str(exc), now)
        return
    _to_message(session, row, photo_message(str(photo.token)), now)
    if row.text and row.text.strip():  # a caption is what the resident said about the photo (≤ 1024 chars)
        try:
            chat_service.record_message(session=session, sender=f"telegram:{row.user_id}", text=row.text)
        except InvalidInput:
            pass  # nothing readable left after cleaning (a zero-width space): the photo alone goes on


async def ingest(
    *,
    sessions: sessionmaker[Session],
    user_id: int,
    download: Download,
    upload_dir: Path,
    now: Callable[[], datetime] = utcnow,
) -> int:
    """Turn a user's waiting updates into chat messages, oldest first; returns how many were handled.

    Stops at a photo whose download fails (it is retried with back-off, and
    the later updates wait for it, so the order holds).
    """
    handled = 0
    while True:
        photo: tuple[int, str | None] | None = None
        with sessions.begin() as session:
            rows = session.scalars(
                select(TelegramUpdate)
                .where(TelegramUpdate.user_id == user_id, TelegramUpdate.status == RECEIVED)
                .order_by(TelegramUpdate.update_id)
                .limit(INGEST_BATCH)
            ).all()
            for row in rows:
                if row.next_attempt_at > now():
                    return handled  # a photo waiting for its next try: the later updates wait behind it
                kind = str(row.kind)
                if kind == "photo":
                    photo = (int(row.update_id), row.file_id)
                    break
                if kind in ("text", "button"):
                    _to_message(session, row, str(row.text or ""), now())
                elif kind == "unsupported":
                    _answer_here(session, row, UNSUPPORTED, now())
                else:
                    row.status = IGNORED
                handled += 1
        if photo is None:
            if len(rows) < INGEST_BATCH:
                # All of them: an update stored from now on kicks the user's worker, which ingests again.
                return handled
            continue
        update_id, file_id = photo
        try:
            data = await download(str(file_id))
            failure = None if len(data) <= MAX_BYTES else PHOTO_TOO_LARGE
        except Exception as exc:  # noqa: BLE001 - a failed download is retried, whatever the cause
            data, failure = b"", f"download failed: {type(exc).__name__}: {exc}"
        with sessions.begin() as session:
            row = session.get(TelegramUpdate, update_id)
            assert row is not None
            if failure == PHOTO_TOO_LARGE:
                _answer_here(session, row, PHOTO_TOO_LARGE, now())
            elif failure is not None:
                row.attempts = int(row.attempts) + 1
                row.last_error = failure[:200]
                if row.attempts >= PHOTO_ATTEMPTS:
                    logger.warning("photo of update %s given up: %s", update_id, failure)
                    _answer_here(session, row, PHOTO_LOST, now())
                else:
                    row.next_attempt_at = now() + timedelta(seconds=2 ** int(row.attempts))
                    return handled
            else:
                _save_photo(session, row, data, upload_dir, now())
        handled += 1
