"""The action server's connection to the backend (one session factory, created on first use) and who is talking.

rasa-sdk imports every module of the ``actions`` package at start-up; nothing
here touches the database until an action runs (no work at import time).
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from rasa_sdk import Tracker

from backend.db import make_engine, make_session_factory
from backend.models import Resident
from backend.services.residents import get_or_create_resident, split_sender
from backend.settings import load_settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker


@lru_cache(maxsize=1)
def sessions() -> sessionmaker[Session]:
    """The backend session factory of this process."""
    settings = load_settings(require_secrets=False)
    return make_session_factory(make_engine(settings.database_url))


def resident_of(session: Session, tracker: Tracker) -> Resident:
    """The resident behind the conversation, by the channel's sender id (created on first contact)."""
    channel, sender = split_sender(tracker.sender_id)
    return get_or_create_resident(session=session, channel=channel, sender_id=sender)


def resident_text(tracker: Tracker) -> str:
    """What the resident sent, whole: the parse only saw a normalised, possibly cut copy."""
    for event in reversed(tracker.events):
        if event.get("event") == "user" and event.get("text"):
            return str(event["text"])
    return str((tracker.latest_message or {}).get("text") or "")
