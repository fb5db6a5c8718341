"""The action server's connection to the backend, the base of every action, and who is talking.

rasa-sdk imports every module of the ``actions`` package at start-up; nothing
here touches the database until an action runs (no work at import time).

The backend's services are synchronous SQLAlchemy. Run on the action
server's event loop, every round trip to PostgreSQL stopped the loop: under
the benchmark's fixed load py-spy found the loop busy about 47 % of the
time, 30 % of that inside psycopg2 waiting for the database, while other
residents' actions queued behind. :class:`BackendAction` runs each action's
work in a worker thread instead (psycopg2 and sqlite3 release the GIL while
they wait), so the loop keeps taking requests.
"""

from __future__ import annotations

import asyncio
import threading
from abc import ABCMeta, abstractmethod
from functools import lru_cache
from typing import Any, Callable, TypeVar

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.orm import Session, sessionmaker

from backend.db import make_engine, make_session_factory
from backend.models import Resident
from backend.services.residents import get_or_create_resident
from backend.settings import load_settings

T = TypeVar("T")

_FIRST_USE = threading.Lock()


def sessions() -> sessionmaker[Session]:
    """The backend session factory of this process (one engine and pool, however many threads ask at once)."""
    with _FIRST_USE:
        return _process_sessions()


@lru_cache(maxsize=1)
def _process_sessions() -> sessionmaker[Session]:
    settings = load_settings(require_secrets=False)
    return make_session_factory(make_engine(settings.database_url))


def forget_sessions() -> None:
    """Drop the process's session factory; the next action reads ``DATABASE_URL`` again (tests change it)."""
    with _FIRST_USE:
        _process_sessions.cache_clear()


async def off_the_loop(work: Callable[..., T], *args: Any) -> T:
    """Run ``work(*args)`` in a worker thread and wait for it without stopping the event loop."""
    return await asyncio.to_thread(work, *args)


class BackendAction(Action, metaclass=ABCMeta):
    """An action whose work runs in a worker thread: subclasses write :meth:`act`, synchronous.

    Every action of this package is one, so no database call can stop the
    action server's event loop by being written in the wrong place. An
    action that hands over to another calls the other's :meth:`act`
    directly, in the same thread. The dispatcher and tracker belong to this
    one request; the loop does not touch them while the thread runs.
    """

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        """What rasa-sdk calls: :meth:`act` in a worker thread."""
        return await off_the_loop(self.act, dispatcher, tracker, domain)

    @abstractmethod
    def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        """The action's work (database transactions included); returns its events.

        Abstract, so rasa-sdk, which registers every subclass of ``Action``
        it finds, skips this class (it has no name of its own).
        """


def resident_of(session: Session, tracker: Tracker) -> Resident:
    """The resident behind the conversation, by the channel's sender id (created on first contact)."""
    channel, sender = channel_identity(tracker.sender_id)
    return get_or_create_resident(session=session, channel=channel, sender_id=sender)


def channel_identity(sender_id: str) -> tuple[str, str]:
    """Split Rasa's sender id (``web:<id>``, ``telegram:<id>``) into channel and id."""
    channel, _, rest = sender_id.partition(":")
    if not rest:
        return "rest", sender_id
    return channel[:16], rest


def resident_text(tracker: Tracker) -> str:
    """What the resident sent, whole: the parse only saw a normalised, possibly cut copy."""
    for event in reversed(tracker.events):
        if event.get("event") == "user" and event.get("text"):
            return str(event["text"])
    return str((tracker.latest_message or {}).get("text") or "")
