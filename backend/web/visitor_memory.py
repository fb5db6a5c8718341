"""The web process's memory of visitor cookies found good lately, so a message or a poll costs no extra query.

A cookie is remembered for :data:`REMEMBER_FOR`, so a revocation takes
effect within that time; at most :data:`MAX_REMEMBERED` are kept, the least
recently used forgotten first.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from datetime import datetime, timedelta

from backend.web.visitor_cookie import Visitor, VisitorCookie, hash_token, read_cookie

logger = logging.getLogger(__name__)

REMEMBER_FOR = timedelta(seconds=30)
MAX_REMEMBERED = 50_000


class Remembered:
    """Cookies found good lately, by key, with when to look again (least recently used forgotten first).

    One per web app (:mod:`backend.web.deps` keeps it on the app).
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.entries: OrderedDict[str, tuple[Visitor, datetime]] = OrderedDict()


def _memory_key(jar: VisitorCookie) -> str | None:
    cookie = read_cookie(jar.request, jar.secret_key)
    if cookie is None:
        return None
    return hash_token(cookie.token) if cookie.token else f"legacy:{cookie.legacy_visitor}"


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
    if found.token is not None and key != hash_token(found.token):
        return
    remembered = jar.remembered
    with remembered.lock:
        remembered.entries.pop(key, None)
        remembered.entries[key] = (found, jar.now() + REMEMBER_FOR)
        while len(remembered.entries) > MAX_REMEMBERED:
            remembered.entries.popitem(last=False)
