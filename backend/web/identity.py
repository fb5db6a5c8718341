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
  :data:`~backend.web.visitor_memory.REMEMBER_FOR`, so a message or a poll
  costs no extra query: a revocation takes effect within that time.
- The cookie of the old format (the visitor id itself, signed, no record) is
  still accepted for the visitor it names until that visitor's record is
  revoked, idle, or its browser has taken up the new cookie; the first
  message it sends creates the record. Residents who reported something keep
  their conversation and their tickets' news across the upgrade.

Forged, tampered, revoked and expired cookies are ignored, never trusted.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

from fastapi import Response
from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.orm import Session

from backend.models import Resident, VisitorSession
from backend.models.base import utcnow
from backend.services.residents import get_or_create_resident
from backend.web.visitor_cookie import Visitor, VisitorCookie, hash_token, new_token, read_cookie, set_cookie
from backend.web.visitor_memory import recall, remember

logger = logging.getLogger(__name__)

ROTATE_AFTER = timedelta(days=1)
ROTATION_GRACE = timedelta(minutes=10)
SEEN_EVERY = timedelta(hours=1)  # last_seen_at is written at most this often per visitor

_BY_TOKEN = select(VisitorSession).where(
    or_(VisitorSession.token_hash == bindparam("hash"), VisitorSession.previous_token_hash == bindparam("hash"))
)
_BY_VISITOR = (
    select(VisitorSession).where(VisitorSession.visitor == bindparam("visitor")).order_by(VisitorSession.id.desc())
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
    cookie = read_cookie(jar.request, jar.secret_key)
    if cookie is None:
        return None
    now = now or jar.now()
    idle = jar.idle
    if cookie.token is None:
        return _resolve_legacy(session, str(cookie.legacy_visitor), now, idle)
    token = cookie.token
    presented = hash_token(token)
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
                token_hash=hash_token(token),
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
        token_hash=hash_token(token),
        resident_id=resident.id,
        legacy=legacy,
        created_at=now,
        last_seen_at=now,
        token_issued_at=now,
    )
    session.add(row)
    session.flush()
    return Visitor(visitor=visitor, record=row.id, resident_id=resident.id, token=token, legacy=legacy)


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
                    token_hash=hash_token(new_token()),  # a token no browser holds
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
