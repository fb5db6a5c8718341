"""The resident's web chat: the page at ``/`` and its JSON endpoints.

The browser posts a message here; the backend stores it, forwards it to Rasa
as the cookie's visitor, and returns the answers. When Rasa gives no answer
(the action server is down, an action failed, Rasa restarts) the visitor is
told the system is busy, the message stays pending, and the worker retries
it; the page polls ``/api/chat/updates`` until the answers arrive.

Who the visitor is comes from :mod:`backend.web.identity`: the page hands
out a cookie (limited per client address), reads never create anything, and
the visitor's record and resident are created by their first message.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

from fastapi import APIRouter, Depends, Header, HTTPException, Request, Response
from fastapi.responses import FileResponse, HTMLResponse
from pydantic import BaseModel, StrictStr
from sqlalchemy import select
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend import messages
from backend.errors import InvalidInput
from backend.models.base import utcnow
from backend.models.chat import PENDING, ChatReply
from backend.photos import photo_message, photo_of, save_photo, shown_text
from backend.services import chat as chat_service
from backend.services.residents import find_resident, get_or_create_resident
from backend.web.deps import AppSettings, Cookie, DbSession, Rasa, SenderLocks, Sessions, Templates, Visitor
from backend.web.errors import NOT_JSON, STORE_DOWN, TOO_FAST, problem, refusal
from backend.web.identity import VisitorCookie, lookup, new_token, rasa_sender, remember, resolve, set_cookie, start
from backend.web.rate_limits import limit, too_fast, wait_for

logger = logging.getLogger(__name__)

router = APIRouter()

CSRF_HEADER_VALUE = "santong"
NOT_SAME_ORIGIN = problem("the X-Requested-With: santong header is missing (a cross-site request)")
REFUSED_TEXT = refusal("an empty message or one over 2,000 characters, or an image that is not one (Chinese detail)")
MAX_ID = 2**63 - 1
_PAYLOAD = re.compile(r"^/\w+(\{.*\})?$", re.DOTALL)  # an intent payload as buttons send it
EARLIER_REPLIES = 10  # answers read before the history's first message, for the title of a button pressed there


class OutgoingText(BaseModel):
    """A message typed (or a button pressed) by the visitor."""

    text: StrictStr  # not str: pydantic 1 would store {"text": 5} as the message "5"


class Button(BaseModel):
    """A quick-reply button: the title shown and the payload sent back."""

    title: str
    payload: str


class Reply(BaseModel):
    """One bot message as the page shows it."""

    id: int
    text: str | None = None
    buttons: list[Button] = []
    image: str | None = None


class HistoryItem(BaseModel):
    """A visitor's past message with the answers it got (or none yet); ``text`` is empty for a notification."""

    text: str
    pending: bool
    replies: list[Reply]


class ChatHistory(BaseModel):
    """The end of the visitor's conversation, to restore the page after a reload."""

    items: list[HistoryItem]
    pending: int
    notice: str | None = None


class ChatUpdate(BaseModel):
    """The answers the page has not shown yet, and whether any message still waits."""

    replies: list[Reply]
    pending: int
    notice: str | None = None


def _reply(row: ChatReply | Row[Any]) -> Reply:
    """A stored reply (a row or a loaded one: both have ``id`` and ``payload``) as the page shows it."""
    payload: dict[str, Any] = row.payload or {}
    buttons = [
        Button(title=str(b.get("title", "")), payload=str(b.get("payload", "")))
        for b in payload.get("buttons") or []
        if isinstance(b, dict)
    ]
    text = payload.get("text")
    image = payload.get("image")
    return Reply(
        id=row.id,
        text=str(text) if text is not None else None,
        buttons=buttons,
        image=str(image) if isinstance(image, str) else None,
    )


def _require_same_origin(x_requested_with: str | None) -> None:
    """A custom header cannot be sent cross-site without CORS: a cheap CSRF guard."""
    if x_requested_with != CSRF_HEADER_VALUE:
        raise HTTPException(status_code=403, detail=messages.FORBIDDEN)


PAGE_TEXTS = {
    "welcome": messages.WELCOME,
    "empty": messages.EMPTY_MESSAGE,
    "offline": messages.OFFLINE,
    "refused": messages.NOT_SENT,
}


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
async def chat_page(request: Request, jar: Cookie, templates: Templates) -> Response:
    """The chat page; hands out a visitor cookie on the first visit, within the new-visitor limit.

    Over the limit the page is still served, without a cookie: the visitor
    can read it, and their first message gets one when the limit allows, or
    a 429 asking them to wait.
    """
    response = templates.TemplateResponse(request, "chat.html", {"csrf": CSRF_HEADER_VALUE, "texts": PAGE_TEXTS})
    found = lookup(jar, response)
    if found is None and await wait_for(request, "visitors") == 0:
        set_cookie(jar, response, new_token())
    return response


async def sending_visitor(request: Request, jar: VisitorCookie, response: Response) -> str:
    """The sending visitor's stable id; their record and resident are created with their first message.

    A request without a valid cookie is a new visitor and spends a token of
    its address's new-visitor limit (429 when there is none).
    """
    sessions = jar.sessions
    found = lookup(jar, response)
    if found is not None and found.visitor is not None and found.resident_id is not None:
        return found.visitor
    try:
        if found is None:
            wait = await wait_for(request, "visitors")
            if wait > 0:
                raise too_fast(wait, messages.TOO_MANY_VISITORS)
        with sessions.begin() as session:
            started = start(jar, response, session, found)
        remember(jar, started)
        return str(started.visitor)
    except IntegrityError:  # the same cookie's first two messages at once: the other one made the record
        with sessions.begin() as session:
            found = resolve(jar, session, response)
        if found is None or found.visitor is None:
            raise
        return found.visitor


@router.post(
    "/api/chat/messages",
    response_model=ChatUpdate,
    tags=["chat"],
    responses={400: NOT_JSON, 403: NOT_SAME_ORIGIN, 422: REFUSED_TEXT, 429: TOO_FAST, 503: STORE_DOWN},
    dependencies=[Depends(limit("chat", "chat_address"))],
)
async def send_message(
    body: OutgoingText,
    request: Request,
    response: Response,
    jar: Cookie,
    rasa: Rasa,
    locks: SenderLocks,
    after: int = 0,
    x_requested_with: str | None = Header(default=None),
) -> ChatUpdate:
    """Store the visitor's message, forward it (in order) and return new answers.

    ``after`` is the id of the last reply the page shows; every newer reply
    for this visitor is returned, so answers to earlier retried messages are
    not missed.
    """
    _require_same_origin(x_requested_with)
    visitor = await sending_visitor(request, jar, response)
    return await _store_and_deliver(jar.sessions, locks, rasa, rasa_sender(visitor), body.text, after)


@router.post(
    "/api/chat/photos",
    response_model=ChatUpdate,
    tags=["chat"],
    responses={403: NOT_SAME_ORIGIN, 422: REFUSED_TEXT, 429: TOO_FAST, 503: STORE_DOWN},
    dependencies=[Depends(limit("photos", "chat_address"))],
)
async def send_photo(
    request: Request,
    response: Response,
    jar: Cookie,
    rasa: Rasa,
    locks: SenderLocks,
    settings: AppSettings,
    after: int = 0,
    x_requested_with: str | None = Header(default=None),
) -> ChatUpdate:
    """A photo from the visitor (the image bytes as the request body).

    The image is checked and stored first; the conversation then receives
    only its token, as the visitor, so the photo joins the report in
    progress or the visitor's latest open ticket.
    """
    _require_same_origin(x_requested_with)
    visitor = await sending_visitor(request, jar, response)
    data = await request.body()
    try:
        with jar.sessions.begin() as session:
            resident = get_or_create_resident(session=session, channel="web", sender_id=visitor)
            photo = save_photo(
                session=session,
                resident=resident,
                data=data,
                upload_dir=settings.upload_dir,
                now=utcnow(),
            )
            token = str(photo.token)
    except InvalidInput as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from None
    return await _store_and_deliver(jar.sessions, locks, rasa, rasa_sender(visitor), photo_message(token), after)


@router.get(
    "/api/photos/{token}",
    tags=["chat"],
    response_class=FileResponse,
    responses={200: {"content": {"image/*": {}}}, 404: problem("not one of the visitor's photos")},
)
def get_photo(token: str, visitor: Visitor, session: DbSession, settings: AppSettings) -> FileResponse:
    """One of the visitor's own photos; anyone else's is "not found", like a missing one."""
    if visitor is None:
        raise HTTPException(status_code=404, detail=messages.PHOTO_NOT_FOUND)
    resident = find_resident(session=session, channel="web", sender_id=visitor)
    photo = photo_of(session=session, resident=resident, token=token) if resident is not None else None
    if photo is None:
        raise HTTPException(status_code=404, detail=messages.PHOTO_NOT_FOUND)
    path = settings.upload_dir / str(photo.path)
    content_type = str(photo.content_type)
    return FileResponse(path, media_type=content_type, headers={"Cache-Control": "private, max-age=86400"})


async def _store_and_deliver(
    sessions: Sessions, locks: SenderLocks, rasa: Rasa, sender: str, text: str, after: int
) -> ChatUpdate:
    """Keep the message first (nothing is lost), then forward this sender's pending messages in order.

    When no earlier message of this visitor is on its way (nearly always),
    the message is stored in the transaction that takes it for delivery, and
    the new answers are read in the delivery's last one: two transactions
    per message. Otherwise it is stored at once on its own, and waits its
    turn behind the earlier one.
    """
    lock = locks.get(sender)
    if lock is None:
        lock = locks[sender] = asyncio.Lock()  # held by the waiting requests; dropped after the last

    def read(session: Session) -> list[Reply]:
        return _replies(session, sender, after)

    try:
        if lock.locked():
            with sessions.begin() as session:
                chat_service.record_message(session=session, sender=sender, text=text)
            store = None
        else:
            store = text
        async with lock:  # free: taken without yielding, so nothing comes between the check and the store
            report = await chat_service.deliver_pending(
                sessions=sessions, sender=sender, forward=rasa.send, read=read, store=store
            )
    except InvalidInput as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from None
    return _update(report.read if report.read is not None else [], report.pending)


def _reader(jar: VisitorCookie, response: Response) -> str | None:
    """The reading visitor's stable id (their record kept up to date), or ``None``: nothing is created."""
    found = lookup(jar, response)
    return found.visitor if found is not None else None


@router.get("/api/chat/updates", response_model=ChatUpdate, tags=["chat"])
def updates(response: Response, jar: Cookie, sessions: Sessions, after: int = 0) -> ChatUpdate:
    """Replies newer than ``after`` for this visitor, and how many messages still wait."""
    visitor = _reader(jar, response)
    if visitor is None:
        return ChatUpdate(replies=[], pending=0)
    sender = rasa_sender(visitor)
    with sessions() as session:
        pending = len(chat_service.pending_messages(session=session, sender=sender))
        replies = _replies(session, sender, after)
    return _update(replies, pending)


@router.get(
    "/api/chat/history",
    response_model=ChatHistory,
    tags=["chat"],
    responses={429: TOO_FAST},
    dependencies=[Depends(limit("history"))],
)
def history(response: Response, jar: Cookie, sessions: Sessions) -> ChatHistory:
    """The visitor's recent conversation, so a reload shows where they were."""
    visitor = _reader(jar, response)
    if visitor is None:
        return ChatHistory(items=[], pending=0)
    sender = rasa_sender(visitor)
    with sessions() as session:
        rows = chat_service.recent_history(session=session, sender=sender)
        first = next((m for m, _ in rows if m is not None), None)
        titles = _earlier_titles(session, sender, first.created_at) if first is not None else {}
        items = []
        for m, replies in rows:
            shown = [_reply(r) for r in replies]
            items.append(
                HistoryItem(
                    text=_as_pressed(m.text, titles) if m is not None else "",
                    pending=m is not None and m.status == PENDING,
                    replies=shown,
                )
            )
            titles.update({b.payload: b.title for reply in shown for b in reply.buttons})
    pending = sum(1 for i in items if i.pending)
    return ChatHistory(items=items, pending=pending, notice=messages.BUSY if pending else None)


def _as_pressed(text: str, titles: dict[str, str]) -> str:
    """A stored message as the resident saw it when sending: a pressed button by its title, a photo as [照片].

    The chat stores what was sent (a button's payload such as
    ``/points_catalogue``); the page showed the button's title, so a reload
    shows it again, from the buttons answered before the message.
    """
    if text in titles:
        return titles[text]
    shown = shown_text(text)
    if shown == text and _PAYLOAD.match(text):
        return messages.BUTTON_PRESSED  # a button of an answer older than the history: never the raw payload
    return shown


def _earlier_titles(session: Session, sender: str, before: Any) -> dict[str, str]:
    """Button payload → title from the sender's last answers before the history starts (the first press's buttons)."""
    rows = session.scalars(
        select(ChatReply)
        .where(ChatReply.sender == sender, ChatReply.created_at < before)
        .order_by(ChatReply.id.desc())
        .limit(EARLIER_REPLIES)
    ).all()
    titles: dict[str, str] = {}
    for row in reversed(rows):
        titles.update({b.payload: b.title for b in _reply(row).buttons})
    return titles


def _replies(session: Session, sender: str, after: int) -> list[Reply]:
    # Clamped to the database's integer range: a cursor of 2**63 or more was a 500.
    rows = chat_service.replies_since(session=session, sender=sender, after_id=min(max(0, after), MAX_ID))
    return [_reply(r) for r in rows]


def _update(replies: list[Reply], pending: int) -> ChatUpdate:
    """What the page is sent: the new replies, and the busy notice while a message still waits."""
    return ChatUpdate(replies=replies, pending=pending, notice=messages.BUSY if pending else None)
