"""The web visitor's identity: a random id in a signed, HttpOnly cookie.

Rasa's REST channel trusts whatever sender it is given, so the browser never
names itself: the backend reads the signed cookie (or issues a new one) and
forwards to Rasa as ``web:<id>``. A forged or tampered cookie is ignored and
replaced, never trusted.
"""

from __future__ import annotations

import uuid

from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeSerializer

COOKIE = "sst_visitor"
MAX_AGE = 365 * 24 * 3600


def _serializer(request: Request) -> URLSafeSerializer:
    return URLSafeSerializer(request.app.state.settings.secret_key, salt="web-visitor")


def visitor_id(request: Request) -> str | None:
    """The verified visitor id from the cookie, or ``None``."""
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None
    try:
        value = _serializer(request).loads(raw)
    except BadSignature:
        return None
    return value if isinstance(value, str) else None


def ensure_visitor(request: Request, response: Response) -> str:
    """The visitor id, issuing a new signed cookie when there is none."""
    existing = visitor_id(request)
    if existing:
        return existing
    new_id = uuid.uuid4().hex
    response.set_cookie(
        COOKIE,
        _serializer(request).dumps(new_id),
        max_age=MAX_AGE,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    return new_id


def rasa_sender(visitor: str) -> str:
    """The sender id Rasa sees for a web visitor."""
    return f"web:{visitor}"
