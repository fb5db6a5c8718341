"""Who calls the Open311 API: the client behind an API key, and the residents its filings belong to.

A client is a system (a 12345 platform) named in ``OPEN311_API_KEYS``; the
resident of a request it files has a channel identity derived from what the
client gives (its account id, else a keyed digest of the phone or e-mail).
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from sqlalchemy import select

from backend.models import Resident

CHANNEL = "open311"


def client_for_key(keys: tuple[tuple[str, str], ...], given: str | None) -> str | None:
    """The client name whose key is ``given``, comparing every key in constant time (no early exit).

    Digests are compared rather than the keys, so the time does not tell a
    key's length either.
    """
    found = None
    candidate = hashlib.sha256((given or "").encode()).digest()
    for name, key in keys:
        if hmac.compare_digest(hashlib.sha256(key.encode()).digest(), candidate) and given:
            found = name
    return found


def identity(*, secret: str, client: str, account_id: str, phone: str | None, email: str) -> str:
    """The resident's ``sender_id`` on the open311 channel: the account, else a digest of phone or e-mail."""
    if account_id:
        return f"{client}:acct:{account_id}"
    for kind, value in (("tel", phone), ("mail", email.lower())):
        if value:
            digest = hmac.new(secret.encode(), f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()[:32]
            return f"{client}:{kind}:{digest}"
    return f"{client}:anonymous"


def filed_by(client: str) -> Any:
    """The residents a client's filings belong to (``open311`` channel, identities ``<client>:…``)."""
    return select(Resident.id).where(
        Resident.channel == CHANNEL, Resident.sender_id.startswith(f"{client}:", autoescape=True)
    )
