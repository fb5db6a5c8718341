"""The web visitor's identity: a random token in a signed cookie, backed by a revocable record.

Rasa's REST channel trusts whatever sender it is given, so the browser never
names itself: the backend reads the signed cookie and forwards to Rasa as
``web:<visitor>``, where ``visitor`` is a stable id kept in the cookie's
server-side record (:class:`~backend.models.VisitorSession`), not the cookie.

- The chat page hands out a cookie (a signed random token, with the time it
  was signed) and nothing else: no row, no resident. The record and the
  resident are created when the visitor first sends something.
- A record is refused once revoked (``python -m backend visitors revoke``) or
  idle for ``VISITOR_IDLE_DAYS``; its cookie is then a new anonymous visitor
  that sees none of the old conversation.
- Once a day of use the cookie's token is replaced (rotation) for the same
  visitor; the token before stays valid until the browser shows the new one,
  and a few minutes more for requests already on their way.
- A cookie found good is remembered by the web process for
  :data:`REMEMBER_FOR`, so a message or a poll costs no extra query: a
  revocation takes effect within that time.
- The cookie of the old format (the visitor id itself, signed, no record) is
  still accepted for the visitor it names until that visitor's record is
  revoked, idle, or its browser has taken up the new cookie; the first
  message it sends creates the record. Residents who reported something keep
  their conversation and their tickets' news across the upgrade.

Forged, tampered, revoked and expired cookies are ignored, never trusted.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeSerializer, URLSafeTimedSerializer
from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from backend.models import Resident, VisitorSession
from backend.models.base import utcnow
from backend.services.residents import get_or_create_resident

logger = logging.getLogger(__name__)

COOKIE = "sst_visitor"
SALT = "web-visitor-session"
LEGACY_SALT = "web-visitor"  # the format before visitor records: the visitor id itself, signed
ROTATE_AFTER = timedelta(days=1)
ROTATION_GRACE = timedelta(minutes=10)
SEEN_EVERY = timedelta(hours=1)  # last_seen_at is written at most this often per visitor
REMEMBER_FOR = timedelta(seconds=30)
MAX_REMEMBERED = 50_000

_BY_TOKEN = select(VisitorSession).where(
    or_(VisitorSession.token_hash == bindparam("hash"), VisitorSession.previous_token_hash == bindparam("hash"))
)
_BY_VISITOR = (
    select(VisitorSession).where(VisitorSession.visitor == bindparam("visitor")).order_by(VisitorSession.id.desc())
)


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
class _Cookie:
    token: str | None
    issued: datetime | None
    legacy_visitor: str | None


class Remembered:
    """Cookies found good lately, by key, with when to look again (least recently used forgotten first).

    One per web app (:mod:`backend.web.deps` keeps it on the app).
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.entries: OrderedDict[str, tuple[Visitor, datetime]] = OrderedDict()


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


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=SALT)


def mint_cookie(secret_key: str, token: str | None = None) -> str:
    """A cookie value for ``token`` (a new random one when ``None``), as the chat page issues it.

    For tools that act as a browser (the benchmark, end-to-end tests): the
    visitor's record is created by its first message.
    """
    return _serializer(secret_key).dumps(token or new_token())


def _read_cookie(request: Request, secret_key: str) -> _Cookie | None:
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None
    try:
        token, issued = _serializer(secret_key).loads(raw, return_timestamp=True)
        if isinstance(token, str) and token:
            return _Cookie(token=token, issued=issued, legacy_visitor=None)
        return None
    except BadSignature:
        pass
    try:
        visitor = URLSafeSerializer(secret_key, salt=LEGACY_SALT).loads(raw)
    except BadSignature:
        return None
    return _Cookie(token=None, issued=None, legacy_visitor=visitor) if isinstance(visitor, str) and visitor else None


def cookie_key(request: Request, secret_key: str) -> str | None:
    """The cookie's signed token (or old-format visitor id), checked by signature only: a rate-limit key."""
    cookie = _read_cookie(request, secret_key)
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


def _alive(row: VisitorSession, now: datetime, idle: timedelta) -> bool:
    return row.revoked_at is None and now - row.last_seen_at <= idle


def resolve(
    jar: VisitorCookie, session: Session, response: Response | None = None, *, now: datetime | None = None
) -> Visitor | None:
    """Who the cookie names, or ``None`` (no cookie, forged, revoked, idle): never creates a record.

    With a ``response`` the record is kept up to date: last seen (at most
    hourly), the token rotated once a day with the new cookie set on the
    response, and the previous token or the old-format cookie retired once
    the browser shows the new one. Without one nothing is written.
    """
    cookie = _read_cookie(jar.request, jar.secret_key)
    if cookie is None:
        return None
    now = now or jar.now()
    idle = jar.idle
    if cookie.token is None:
        return _resolve_legacy(session, str(cookie.legacy_visitor), now, idle)
    token = cookie.token
    presented = _hash(token)
    rows = session.scalars(_BY_TOKEN, {"hash": presented}).all()
    if not rows:  # a cookie from the page, its holder has sent nothing yet
        issued = cookie.issued
        fresh = issued is not None and now - issued <= idle
        return Visitor(visitor=None, token=token) if fresh else None
    row = next((r for r in rows if r.token_hash == presented), None)
    current = row is not None
    if row is None:
        row = rows[0]
        if row.previous_expires_at is not None and now > row.previous_expires_at:
            return None  # the token before a rotation, after the browser took up the new one
    if not _alive(row, now, idle):
        return None
    if response is not None:
        _keep_up(jar, session, response, row, presented=presented, current=current, now=now)
    return Visitor(visitor=str(row.visitor), record=row.id, resident_id=row.resident_id, token=token)


def _resolve_legacy(session: Session, visitor: str, now: datetime, idle: timedelta) -> Visitor | None:
    row = session.scalars(_BY_VISITOR, {"visitor": visitor}).first()
    if row is None:
        return Visitor(visitor=visitor, legacy=True)  # not seen since the upgrade: its next message makes the record
    if not row.legacy or not _alive(row, now, idle):
        return None
    return Visitor(visitor=visitor, record=row.id, resident_id=row.resident_id, legacy=True)


def _keep_up(
    jar: VisitorCookie,
    session: Session,
    response: Response,
    row: VisitorSession,
    *,
    presented: str,
    current: bool,
    now: datetime,
) -> None:
    """Last seen, the previous token's and old cookie's retirement, and the daily rotation."""
    if current:
        if row.previous_token_hash is not None and row.previous_expires_at is None:
            row.previous_expires_at = now + ROTATION_GRACE
        if row.legacy:
            row.legacy = False
    if now - row.last_seen_at >= SEEN_EVERY:
        row.last_seen_at = now
    if now - row.token_issued_at >= ROTATE_AFTER:
        token = new_token()
        swapped = session.execute(
            update(VisitorSession)
            .where(VisitorSession.id == row.id, VisitorSession.token_hash == row.token_hash)
            .values(
                token_hash=_hash(token),
                previous_token_hash=presented,
                previous_expires_at=None,
                token_issued_at=now,
                last_seen_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        if swapped.rowcount == 1:  # not when another request rotated it first: that one's cookie counts
            set_cookie(jar, response, token)
        session.expire(row)
    session.flush()


def start(jar: VisitorCookie, response: Response, session: Session, found: Visitor | None) -> Visitor:
    """The visitor who is sending, with a record and a resident: created on their first message.

    ``found`` is what :func:`resolve` gave for this request. ``None`` is a
    new visitor (the caller has checked the new-visitor limit): a new token
    and its cookie. A page cookie keeps its token; an old-format cookie keeps
    its visitor and gets a new-format cookie.
    """
    now = jar.now()
    if found is not None and found.record is not None:
        if found.resident_id is not None or found.visitor is None:
            return found
        resident = get_or_create_resident(session=session, channel="web", sender_id=found.visitor)
        session.execute(
            update(VisitorSession)
            .where(VisitorSession.id == found.record)
            .values(resident_id=resident.id)
            .execution_options(synchronize_session=False)
        )
        return Visitor(visitor=found.visitor, record=found.record, resident_id=resident.id, token=found.token)
    legacy = found is not None and found.legacy
    if found is not None and found.token is not None:
        token = found.token
    else:
        token = new_token()
        set_cookie(jar, response, token)
    visitor = str(found.visitor) if legacy and found is not None else uuid.uuid4().hex
    resident = get_or_create_resident(session=session, channel="web", sender_id=visitor)
    row = VisitorSession(
        visitor=visitor,
        token_hash=_hash(token),
        resident_id=resident.id,
        legacy=legacy,
        created_at=now,
        last_seen_at=now,
        token_issued_at=now,
    )
    session.add(row)
    session.flush()
    return Visitor(visitor=visitor, record=row.id, resident_id=resident.id, token=token, legacy=legacy)


def _memory_key(jar: VisitorCookie) -> str | None:
    cookie = _read_cookie(jar.request, jar.secret_key)
    if cookie is None:
        return None
    return _hash(cookie.token) if cookie.token else f"legacy:{cookie.legacy_visitor}"


def recall(jar: VisitorCookie) -> Visitor | None:
    """The visitor this cookie was found to be in the last :data:`REMEMBER_FOR`, else ``None`` (look it up)."""
    key = _memory_key(jar)
    if key is None:
        return None
    remembered = jar.remembered
    with remembered.lock:
        entry = remembered.entries.get(key)
    if entry is None or jar.now() >= entry[1]:
        return None
    return entry[0]


def remember(jar: VisitorCookie, found: Visitor | None) -> None:
    """Keep a visitor with a record and a resident for :data:`REMEMBER_FOR` (others are looked up each time)."""
    key = _memory_key(jar)
    if key is None or found is None or found.record is None or found.resident_id is None:
        return
    if found.token is not None and key != _hash(found.token):
        return
    remembered = jar.remembered
    with remembered.lock:
        remembered.entries.pop(key, None)
        remembered.entries[key] = (found, jar.now() + REMEMBER_FOR)
        while len(remembered.entries) > MAX_REMEMBERED:
            remembered.entries.popitem(last=False)


def lookup(jar: VisitorCookie, response: Response | None = None) -> Visitor | None:
    """Who the cookie names (remembered, or resolved in a transaction of its own and kept up to date)."""
    found = recall(jar)
    if found is not None:
        return found
    with jar.sessions.begin() as session:
        found = resolve(jar, session, response)
    remember(jar, found)
    return found


def visitor_id(jar: VisitorCookie) -> str | None:
    """The stable id of the visitor the cookie names, or ``None``: a read, nothing is created."""
    found = lookup(jar)
    return found.visitor if found is not None else None


def revoke_resident(*, session: Session, code: str, now: datetime | None = None) -> int | None:
    """Revoke every web cookie of the resident with ``code``: how many records, or ``None`` if no such resident.

    A resident who lost their phone: the cookie on it becomes a new, empty
    visitor. A web resident whose old-format cookie never made a record gets
    a revoked one, so that cookie is refused too.
    """
    now = now or utcnow()
    resident = session.scalars(select(Resident).filter_by(code=code)).one_or_none()
    if resident is None:
        return None
    rows = session.scalars(select(VisitorSession).where(VisitorSession.resident_id == resident.id)).all()
    if resident.channel == "web":
        rows = list(rows) + [
            r for r in session.scalars(_BY_VISITOR, {"visitor": resident.sender_id}).all() if r not in rows
        ]
        if not rows:
            rows = [
                VisitorSession(
                    visitor=resident.sender_id,
                    token_hash=_hash(new_token()),  # a token no browser holds
                    resident_id=resident.id,
                    legacy=False,
                    created_at=now,
                    last_seen_at=now,
                    token_issued_at=now,
                )
            ]
            session.add(rows[0])
    for row in rows:
        if row.revoked_at is None:
            row.revoked_at = now
    session.flush()
    logger.info("web visitor cookies of resident %s revoked (%d records)", code, len(rows))
    return len(rows)


def rasa_sender(visitor: str) -> str:
    """The sender id Rasa sees for a web visitor."""
    return f"web:{visitor}"
