"""The visitor cookie: its signed format, what reading it takes, and whom it names.

A new-format cookie is a signed random token with the time it was signed;
the old format is the visitor id itself, signed. Only the token's hash is
stored (:mod:`backend.web.identity` looks it up); a forged or tampered
cookie reads as none.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Callable

from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeSerializer, URLSafeTimedSerializer
from sqlalchemy.orm import Session, sessionmaker

if TYPE_CHECKING:
    from backend.web.visitor_memory import Remembered

logger = logging.getLogger(__name__)

COOKIE = "sst_visitor"
SALT = "web-visitor-session"
LEGACY_SALT = "web-visitor"  # the format before visitor records: the visitor id itself, signed


@dataclass(frozen=True)
class Visitor:
    """Who a request's cookie names.

    ``visitor`` is the stable id (Rasa's ``web:<visitor>``); it is ``None``
    for a cookie from the page whose holder has not sent anything yet.
    ``record`` is the :class:`VisitorSession` id once there is one.
    """

    visitor: str | None
    record: int | None = None
    resident_id: int | None = None
    token: str | None = None  # a new-format cookie's token
    legacy: bool = False


@dataclass(frozen=True)
class CookieValue:
    """What a cookie holds once its signature is checked: a token (and when it was signed), or an old visitor id."""

    token: str | None
    issued: datetime | None
    legacy_visitor: str | None


@dataclass(frozen=True)
class VisitorCookie:
    """A request's visitor cookie with what reading it takes (given to routes by :mod:`backend.web.deps`).

    ``now`` is the app's clock (tests move it); ``remembered`` the app's
    memory of cookies found good lately.
    """

    request: Request
    sessions: sessionmaker[Session]
    secret_key: str
    idle_days: int
    now: Callable[[], datetime]
    remembered: Remembered

    @property
    def idle(self) -> timedelta:
        """How long a record may go unused before its cookie is refused."""
        return timedelta(days=self.idle_days)


def new_token() -> str:
    """A new random cookie token (192 bits)."""
    return secrets.token_urlsafe(24)


def hash_token(token: str) -> str:
    """What is stored of a token: its SHA-256, never the token."""
    return hashlib.sha256(token.encode()).hexdigest()


def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=SALT)


def mint_cookie(secret_key: str, token: str | None = None) -> str:
    """A cookie value for ``token`` (a new random one when ``None``), as the chat page issues it.

    For tools that act as a browser (the benchmark, end-to-end tests): the
    visitor's record is created by its first message.
    """
    return _serializer(secret_key).dumps(token or new_token())


def read_cookie(request: Request, secret_key: str) -> CookieValue | None:
    """The request's cookie with its signature checked, or ``None`` (no cookie, forged, tampered)."""
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None
    try:
        token, issued = _serializer(secret_key).loads(raw, return_timestamp=True)
        if isinstance(token, str) and token:
            return CookieValue(token=token, issued=issued, legacy_visitor=None)
        return None
    except BadSignature:
        pass
    try:
        visitor = URLSafeSerializer(secret_key, salt=LEGACY_SALT).loads(raw)
    except BadSignature:
        return None
    return (
        CookieValue(token=None, issued=None, legacy_visitor=visitor) if isinstance(visitor, str) and visitor else None
    )


def cookie_key(request: Request, secret_key: str) -> str | None:
    """The cookie's signed token (or old-format visitor id), checked by signature only: a rate-limit key."""
    cookie = read_cookie(request, secret_key)
    if cookie is None:
        return None
    return f"token:{cookie.token}" if cookie.token else f"legacy:{cookie.legacy_visitor}"


def set_cookie(jar: VisitorCookie, response: Response, token: str) -> None:
    """Give the browser ``token``'s cookie, kept as long as a visitor may stay idle."""
    response.set_cookie(
        COOKIE,
        mint_cookie(jar.secret_key, token),
        max_age=int(jar.idle.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=jar.request.url.scheme == "https",
    )
