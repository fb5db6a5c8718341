"""The client every channel uses to talk to Rasa (its guarded REST channel, /webhooks/santong/).

Rasa's REST webhook answers HTTP 200 with an empty list when the action
server is down or an action fails; every turn of this assistant says
something, so an empty answer is treated as a failure here, like a refused
connection or a 5xx, and the caller keeps the message and retries it. The
guarded channel (:mod:`backend.rasa_guard`) answers 503 when Rasa's tracker
store failed during the turn, which is retried the same way.

``RASA_URL`` may name several Rasa servers, comma-separated (the production
profile, where they share the tracker store and Redis' lock store): the
messages are spread over them in turn, and a server that refuses the
connection is skipped for the next one. Only a refused connection moves on:
after a timeout or a broken answer Rasa may have handled the message, so
that one is kept and retried like any other failure.
"""

from __future__ import annotations

import itertools
import logging
from typing import Any

import httpx

logger = logging.getLogger(__name__)


class RasaUnavailable(Exception):
    """Rasa did not give a usable answer; the message must be kept and retried."""


class RasaClient:
    """Send one resident message to Rasa and return the bot's messages.

    Args:
        base_url: Rasa's base URL, e.g. ``http://127.0.0.1:5005``, or several, comma-separated.
        timeout: seconds to wait for the whole turn (actions included).
        transport: an httpx transport, for tests.
    """

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        timeout: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ):
        self._token = token
        urls = [url.strip().rstrip("/") for url in base_url.split(",") if url.strip()]
        if not urls:
            raise ValueError("RASA_URL is empty: give the Rasa server's URL (or several, comma-separated)")
        self._clients = [httpx.AsyncClient(base_url=url, timeout=timeout, transport=transport) for url in urls]
        self._turns = itertools.count()

    async def _post(self, path: str, **kwargs: Any) -> httpx.Response:
        """POST to the next server in turn; on a refused connection, to the one after it."""
        first = next(self._turns)
        for offset in range(len(self._clients)):
            client = self._clients[(first + offset) % len(self._clients)]
            try:
                return await client.post(path, **kwargs)
            except httpx.ConnectError as exc:
                refused: httpx.HTTPError = exc
                logger.warning("Rasa at %s refused the connection; trying the next server", client.base_url)
        raise refused

    async def send(self, sender: str, text: str) -> list[dict[str, Any]]:
        """Deliver ``text`` from ``sender`` and return Rasa's answers.

        Raises:
            RasaUnavailable: no connection, an error status, or an empty answer.
        """
        try:
            response = await self._post("/webhooks/santong/webhook", json={"sender": sender, "message": text})
        except httpx.HTTPError as exc:
            raise RasaUnavailable(f"cannot reach Rasa: {type(exc).__name__}") from exc
        if response.status_code != 200:
            raise RasaUnavailable(f"Rasa answered HTTP {response.status_code}")
        try:
            answers = response.json()
        except ValueError as exc:
            raise RasaUnavailable("Rasa answered something that is not JSON") from exc
        if not isinstance(answers, list) or not answers:
            # Action server down or an action failed: Rasa swallows it.
            raise RasaUnavailable("Rasa answered with no messages (action server down or action failed)")
        return [a for a in answers if isinstance(a, dict)]

    async def parse(self, text: str) -> dict[str, Any]:
        """Rasa's NLU parse of ``text`` (HTTP API ``/model/parse``, token-protected).

        Raises:
            RasaUnavailable: no connection or an error status.
        """
        params = {"token": self._token} if self._token else None
        try:
            response = await self._post("/model/parse", json={"text": text}, params=params)
        except httpx.HTTPError as exc:
            raise RasaUnavailable(f"cannot reach Rasa: {type(exc).__name__}") from exc
        if response.status_code != 200:
            raise RasaUnavailable(f"Rasa answered HTTP {response.status_code} to /model/parse")
        result = response.json()
        if not isinstance(result, dict):
            raise RasaUnavailable("Rasa's parse is not an object")
        return result

    async def aclose(self) -> None:
        """Close the connection pool."""
        for client in self._clients:
            await client.aclose()
