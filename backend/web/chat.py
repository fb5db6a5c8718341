"""The resident's web chat: the page at ``/`` and sending a message to it.

The browser posts a message here; the backend stores it, forwards it to Rasa
as the cookie's visitor, and returns the answers. When Rasa gives no answer
(the action server is down, an action failed, Rasa restarts) the visitor is
told the system is busy, the message stays pending, and the worker retries
it; the page polls ``/api/chat/updates`` (:mod:`backend.web.chat_history`)
until the answers arrive. Photos are :mod:`backend.web.chat_photos`.

Who the visitor is comes from :mod:`backend.web.identity`: the page hands
out a cookie (limited per client address), reads never create anything, and
the visitor's record and resident are created by their first message.
"""

from __future__ import annotations

import asyncio
import logging

from fastapi import APIRouter, Depends, Header, HTTPException, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, StrictStr
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend import messages
from backend.errors import InvalidInput
from backend.services import chat as chat_service
from backend.web.chat_replies import ChatUpdate, Reply, replies_after, update_of
from backend.web.deps import Cookie, Rasa, SenderLocks, Sessions, Templates
from backend.web.errors import NOT_JSON, STORE_DOWN, TOO_FAST, problem, refusal
from backend.web.identity import lookup, rasa_sender, resolve, start
from backend.web.rate_limits import limit, too_fast, wait_for
from backend.web.visitor_cookie import VisitorCookie, new_token, set_cookie
from backend.web.visitor_memory import remember

logger = logging.getLogger(__name__)

router = APIRouter()

CSRF_HEADER_VALUE = "santong"
NOT_SAME_ORIGIN = problem("the X-Requested-With: santong header is missing (a cross-site request)")
REFUSED_TEXT = refusal("an empty message or one over 2,000 characters, or an image that is not one (Chinese detail)")


class OutgoingText(BaseModel):
    """A message typed (or a button pressed) by the visitor."""

    text: StrictStr  # not str: pydantic 1 would store {"text": 5} as the message "5"


def require_same_origin(x_requested_with: str | None) -> None:
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
    require_same_origin(x_requested_with)
    visitor = await sending_visitor(request, jar, response)
    return await store_and_deliver(jar.sessions, locks, rasa, rasa_sender(visitor), body.text, after)


async def store_and_deliver(
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
        return replies_after(session, sender, after)

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
    return update_of(report.read if report.read is not None else [], report.pending)
