"""How the stack proves itself to Rasa's HTTP API without the token showing up anywhere.

Rasa 3.6 accepts its ``--auth-token`` only as a ``?token=`` query
parameter, and a URL is what HTTP clients, proxies and access logs write
down: every time an admin opened the console's models page, the web app's
log had ``GET …/status?token=…``. Rasa also accepts a JWT in the
``Authorization: Bearer`` header (``--jwt-secret``), checked with
sanic-jwt. So the stack's Rasa servers are started with a JWT secret
derived from ``RASA_TOKEN`` (:func:`jwt_secret`, added to Rasa's arguments
inside the process by :mod:`backend.rasa_ext.launcher`, so no command line holds
it), and the clients send a short-lived JWT signed with it
(:class:`RasaAuth`): the token itself never travels, and a JWT that leaked
would expire within minutes. The role ``admin`` is what Rasa requires for
its model and status endpoints.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from functools import lru_cache

import jwt

ALGORITHM = "HS256"
LIFETIME_SECONDS = 300
RENEW_AFTER_SECONDS = 60
_CONTEXT = b"santong rasa jwt v1"


@lru_cache(maxsize=8)
def jwt_secret(token: str) -> str:
    """The JWT signing secret of a Rasa server whose API token is ``token`` (64 hex characters)."""
    return hmac.new(token.encode("utf-8"), _CONTEXT, hashlib.sha256).hexdigest()


class RasaAuth:
    """The ``Authorization`` header for Rasa's HTTP API, renewed every minute.

    Args:
        token: ``RASA_TOKEN``; empty or None means Rasa runs without authentication (no header).
    """

    def __init__(self, token: str | None) -> None:
        self._token = token or ""
        self._header: dict[str, str] = {}
        self._minted = float("-inf")

    def headers(self) -> dict[str, str]:
        """``{"Authorization": "Bearer <JWT>"}`` (a copy), or ``{}`` without a token."""
        if not self._token:
            return {}
        now = time.time()
        if now - self._minted >= RENEW_AFTER_SECONDS:
            claims = {
                "user": {"username": "santong", "role": "admin"},
                "iat": int(now),
                "exp": int(now) + LIFETIME_SECONDS,
            }
            self._header = {"Authorization": "Bearer " + jwt.encode(claims, jwt_secret(self._token), ALGORITHM)}
            self._minted = now
        return dict(self._header)
