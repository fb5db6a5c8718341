"""The client every channel uses to talk to Rasa (its guarded REST channel, /webhooks/santong/).

Rasa's REST webhook answers HTTP 200 with an empty list when the action
server is down or an action fails; every turn of this assistant says
something, so an empty answer is treated as a failure here, like a refused
connection or a 5xx, and the caller keeps the message and retries it. The
guarded channel (:mod:`backend.rasa_ext.channel`) answers 503 when Rasa's tracker
store failed during the turn, which is retried the same way.

``RASA_URL`` may name several Rasa servers, comma-separated (the production
profile, where they share the tracker store and Redis' lock store): the
messages are spread over them in turn, and a server that refuses the
connection is skipped for the next one. Only a refused connection moves on:
after a timeout or a broken answer Rasa may have handled the message, so
that one is kept and retried like any other failure.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from typing import Any

import aiohttp

from backend.connection_pool import close_connection_pool, connection_pool
from backend.rasa_auth import RasaAuth

logger = logging.getLogger(__name__)


class RasaUnavailable(Exception):
    """Rasa did not give a usable answer; the message must be kept and retried."""


class RasaClient:
    """Send one resident message to Rasa and return the bot's messages.

    aiohttp, not httpx: every message of every channel passes here, and an
    httpx request cost noticeably more CPU than aiohttp's (docs/benchmark.md).
    Connections come
    from the running event loop's pool, the one Rasa's own calls to the
    action server use (:func:`backend.connection_pool.connection_pool`).

    Args:
        base_url: Rasa's base URL, e.g. ``http://127.0.0.1:5005``, or several, comma-separated.
        token: ``RASA_TOKEN``, for ``/model/parse`` (sent as a short-lived JWT in a header, never in the URL).
        timeout: seconds to wait for the whole turn (actions included).
    """

    def __init__(self, base_url: str, *, token: str | None = None, timeout: float = 30.0):
        self._auth = RasaAuth(token)
        self._urls = [url.strip().rstrip("/") for url in base_url.split(",") if url.strip()]
        if not self._urls:
            raise ValueError("RASA_URL is empty: give the Rasa server's URL (or several, comma-separated)")
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._turns = itertools.count()

    async def _post(self, path: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> tuple[int, Any]:
        """POST to the next server in turn (on a refused connection, to the one after it): status and JSON.

        Raises:
            RasaUnavailable: no server took the connection, the answer did not come in time or broke off.
        """
        first = next(self._turns)
        session = aiohttp.ClientSession(connector=connection_pool(), connector_owner=False, timeout=self._timeout)
        async with session:
            for offset in range(len(self._urls)):
                url = self._urls[(first + offset) % len(self._urls)]
                try:
                    async with session.post(url + path, json=body, headers=headers) as response:
                        if response.status != 200:
                            return response.status, None
                        try:
                            return 200, await response.json(content_type=None)
                        except ValueError as exc:
                            raise RasaUnavailable("Rasa answered something that is not JSON") from exc
                except aiohttp.ClientConnectorError as exc:
                    refused: Exception = exc
                    logger.warning("Rasa at %s refused the connection; trying the next server", url)
                except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                    raise RasaUnavailable(f"cannot reach Rasa: {type(exc).__name__}") from exc
        raise RasaUnavailable(f"cannot reach Rasa: {type(refused).__name__}") from refused

    async def send(self, sender: str, text: str) -> list[dict[str, Any]]:
        """Deliver ``text`` from ``sender`` and return Rasa's answers.

        Raises:
            RasaUnavailable: no connection, an error status, or an empty answer.
        """
        status, answers = await self._post("/webhooks/santong/webhook", {"sender": sender, "message": text})
        if status != 200:
            raise RasaUnavailable(f"Rasa answered HTTP {status}")
        if not isinstance(answers, list) or not answers:
            # Action server down or an action failed: Rasa swallows it.
            raise RasaUnavailable("Rasa answered with no messages (action server down or action failed)")
        return [a for a in answers if isinstance(a, dict)]

    async def parse(self, text: str) -> dict[str, Any]:
        """Rasa's NLU parse of ``text`` (HTTP API ``/model/parse``, token-protected).

        Raises:
            RasaUnavailable: no connection or an error status.
        """
        status, result = await self._post("/model/parse", {"text": text}, headers=self._auth.headers())
        if status != 200:
            raise RasaUnavailable(f"Rasa answered HTTP {status} to /model/parse")
        if not isinstance(result, dict):
            raise RasaUnavailable("Rasa's parse is not an object")
        return result

    async def aclose(self) -> None:
        """Close the running loop's connection pool (the next call opens a new one)."""
        await close_connection_pool()
