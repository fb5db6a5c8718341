"""Rasa must not carry on in memory when its tracker store is unavailable: detect it and refuse.

Rasa wraps every tracker store in ``FailSafeTrackerStore``: when the
database cannot be read it starts a fresh conversation, and when it cannot
be written it saves in memory — the resident gets an answer that forgot the
form they were filling in, and the turn is lost when the process restarts,
all behind an HTTP 200. Two pieces, loaded by Rasa from ``endpoints.yml``
and ``credentials.yml``, turn that into a refusal the channels handle:

- :class:`GuardedSQLTrackerStore`, Rasa's SQL tracker store that counts
  and logs (at CRITICAL, an alert) every failed read or write, and can
  probe its database;
- :class:`GuardedRestInput`, Rasa's REST channel under
  ``/webhooks/santong/``: it answers **503** instead of a forgotten answer
  when the store failed during the turn or is down before it starts, so
  the web backend and the Telegram bridge keep the message and retry it
  (as they do when Rasa is down), and ``GET /webhooks/santong/health``
  reports the store's state for health checks and load balancers.

A turn refused this way may have been processed in memory; retrying it
once the database is back processes it again from the stored conversation,
which is the state the resident actually saw.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from sqlalchemy import text

from backend.rasa_ext.button_answers import as_pressed
from backend.rasa_ext.patches import typed_buttons as typed_buttons_patch
from backend.rasa_ext.tracker_store import LeanSQLTrackerStore

logger = logging.getLogger(__name__)

RECENT_SECONDS = 30.0  # a failure this recent makes the store "down" until a probe succeeds


class GuardedSQLTrackerStore(LeanSQLTrackerStore):
    """Rasa's SQL tracker store that reports its failures."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.failures = 0
        self.last_failure: float | None = None
        self.last_error = ""

    def _failed(self, what: str, error: Exception) -> None:
        self.failures += 1
        self.last_failure = time.monotonic()
        self.last_error = f"{type(error).__name__}: {str(error)[:300]}"
        logger.critical("tracker store unavailable (%s failed): %s — the turn is refused, not kept in memory",
                        what, self.last_error)  # fmt: skip

    async def retrieve(self, sender_id: str) -> Any:
        """Rasa's read, failures counted."""
        try:
            return await super().retrieve(sender_id)
        except Exception as error:
            self._failed("read", error)
            raise

    async def retrieve_full_tracker(self, sender_id: str) -> Any:
        """Rasa's full read, failures counted."""
        try:
            return await super().retrieve_full_tracker(sender_id)
        except Exception as error:
            self._failed("read", error)
            raise

    async def save(self, tracker: Any) -> None:
        """Rasa's write, failures counted."""
        try:
            await super().save(tracker)
        except Exception as error:
            self._failed("write", error)
            raise

    def probe(self) -> bool:
        """Whether the database would take a write now (a failure is forgotten once it does).

        SQLite in WAL mode serves reads while another process holds the write
        lock, so there the probe takes the write lock for an instant; a
        server database answering at all is enough.
        """
        try:
            with self.engine.connect() as connection:
                if self.engine.dialect.name == "sqlite":
                    connection.exec_driver_sql("BEGIN IMMEDIATE")
                    connection.exec_driver_sql("ROLLBACK")
                else:
                    connection.execute(text("SELECT 1"))
        except Exception as error:  # noqa: BLE001 - any driver error means "not available"
            self._failed("probe", error)
            return False
        return True

    def healthy(self) -> bool:
        """No recent failure, or the database answers again."""
        if self.last_failure is None or time.monotonic() - self.last_failure > RECENT_SECONDS:
            return True
        return self.probe()


def guarded_store(request: Request) -> GuardedSQLTrackerStore | None:
    """The guarded store behind Rasa's fail-safe wrapper (None if another store is configured)."""
    agent = getattr(request.app.ctx, "agent", None)
    store = getattr(agent, "tracker_store", None)
    inner = getattr(store, "_tracker_store", store)
    return inner if isinstance(inner, GuardedSQLTrackerStore) else None


def _unavailable(store: GuardedSQLTrackerStore) -> HTTPResponse:
    return response.json({"error": "tracker store unavailable", "detail": store.last_error}, status=503)


class GuardedRestInput(RestInput):
    """The REST channel, refusing a turn (503) when the tracker store failed during it or is down."""

    @classmethod
    def name(cls) -> str:
        """The channel's URL part: /webhooks/santong/webhook."""
        return "santong"

    def blueprint(self, on_new_message: Any) -> Blueprint:
        """The REST routes, a health route, and the before/after checks of the store.

        Typed words that stand for one of the buttons on screen are handled as its press (the words kept, see
        :mod:`backend.rasa_ext.button_answers`): by the processor, in the turn's tracker, when the
        ``typed_buttons`` patch is on; else here, with :func:`~backend.rasa_ext.button_answers.as_pressed`.
        """
        server: dict[str, Any] = {}  # the Sanic app serving this channel, for its current agent

        async def typed_buttons_pressed(message: UserMessage) -> None:
            agent = getattr(getattr(server.get("app"), "ctx", None), "agent", None)
            await on_new_message(await as_pressed(agent, message))

        # The launcher installs the patches before Rasa builds its channels: decided once, not per message.
        by_processor = typed_buttons_patch.installed()  # it matches them in the turn's own tracker
        blueprint = super().blueprint(on_new_message if by_processor else typed_buttons_pressed)

        @blueprint.route("/health", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            store = guarded_store(request)
            if store is None:
                return response.json({"tracker_store": "not guarded: check endpoints.yml"}, status=503)
            if not store.probe():
                return _unavailable(store)
            return response.json({"tracker_store": "ok", "failures": store.failures})

        @blueprint.middleware("request")
        async def before(request: Request) -> HTTPResponse | None:
            server["app"] = request.app
            store = guarded_store(request)
            request.ctx.failures_before = store.failures if store else 0
            if store is not None and request.path.endswith("/webhook") and not store.healthy():
                return _unavailable(store)
            return None

        @blueprint.middleware("response")
        async def after(request: Request, answer: HTTPResponse) -> HTTPResponse | None:
            store = guarded_store(request)
            if store is not None and request.path.endswith("/webhook"):
                if store.failures > getattr(request.ctx, "failures_before", store.failures):
                    return _unavailable(store)
            return None

        return blueprint
