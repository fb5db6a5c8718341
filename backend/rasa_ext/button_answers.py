"""A typed answer to the buttons on screen is handled as the press it stands for, before Rasa reads it.

A short message (:func:`backend.rasa_ext.typed_buttons.may_be_a_button`) is
matched against the buttons of the assistant's latest answer to that sender
(its bot events after the sender's last message), and when it stands for
exactly one of them it is handled as that button. Where the buttons come
from: the conversation Rasa has just read for the turn, under the sender's
lock (:func:`pressed_in`, called by the ``typed_buttons`` patch,
:mod:`backend.rasa_ext.patches.typed_buttons`); with that patch switched
off, a query of the tracker store made by the guarded REST channel
(:mod:`backend.rasa_ext.channel`, :func:`as_pressed`). Either way:

- a payload that sends an intent (``/affirm``, ``/rate_satisfaction{...}``)
  becomes the message's parse, exactly as Rasa unpacks it on a press, while
  the message keeps the words the resident typed: the tracker, the console's
  transcripts and the chat history show what they wrote, with the button's
  intent and entities;
- a payload of words (``紧急``, ``接单 GZ…``, ``我要换毛巾``) is what the
  button sends as the message, and the actions read that text, so the
  message becomes it.

Either way the message's metadata records ``typed_button``: what was typed,
the button's title and payload, and which rule matched — so nothing the
resident wrote is lost. Anything else (a long message, no button on screen,
several buttons fitting, a store that cannot be read) goes on untouched.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from rasa.core.channels.channel import UserMessage
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import BotUttered, Event
from rasa.shared.core.trackers import DialogueStateTracker

from backend.rasa_ext.patches.speedups import payload_parse
from backend.rasa_ext.typed_buttons import intent_of, load_paraphrases, match, may_be_a_button

logger = logging.getLogger(__name__)

METADATA_KEY = "typed_button"


@lru_cache(maxsize=4)
def _bot_events_query(table: sa.Table) -> sa.sql.Select:
    """The bot events of one sender (bound at run time) stored after that sender's last message, in order."""
    sender = sa.bindparam("sender_id", type_=table.c.sender_id.type)
    last_message = (
        sa.select(sa.func.coalesce(sa.func.max(table.c.id), 0))
        .where(table.c.sender_id == sender, table.c.type_name == "user")
        .scalar_subquery()
    )
    return (
        sa.select(table.c.data)
        .where(table.c.sender_id == sender, table.c.type_name == "bot", table.c.id > last_message)
        .order_by(table.c.id)
    )


def _sql_bot_data(store: SQLTrackerStore, sender_id: str) -> list[dict[str, Any]]:
    """The ``data`` of the bot events stored after the sender's last message: one indexed query for only those rows."""
    with store.session_scope() as session:
        rows = session.execute(_bot_events_query(store.SQLEvent.__table__), {"sender_id": sender_id}).scalars()
        return [json.loads(row).get("data") or {} for row in rows]


async def buttons_on_screen(tracker_store: Any, sender_id: str) -> list[dict[str, Any]]:
    """The buttons of the assistant's latest answer to ``sender_id`` (all its messages since the sender's last one)."""
    store = getattr(tracker_store, "_tracker_store", tracker_store)  # inside Rasa's fail-safe wrapper
    if isinstance(store, SQLTrackerStore):
        return _buttons_of(_sql_bot_data(store, sender_id))
    tracker = await store.retrieve(sender_id)
    return _buttons_of(_bot_data_after_last_message(tracker.events if tracker else []))


def _bot_data_after_last_message(events: Sequence[Event]) -> list[dict[str, Any]]:
    """The ``data`` (buttons and the like) of a conversation's bot events after its last user message, in order."""
    found: list[dict[str, Any]] = []
    for event in reversed(events):
        if event.type_name == "user":
            break
        if isinstance(event, BotUttered):
            found.append(event.data or {})
    return found[::-1]


def _buttons_of(data: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every button in the bot events' ``data``, in order."""
    buttons: list[dict[str, Any]] = []
    for one in data:
        buttons.extend(b for b in one.get("buttons") or [] if isinstance(b, dict))
    return buttons


def pressed_in(tracker: DialogueStateTracker, message: UserMessage, domain: Any) -> UserMessage:
    """``message`` as the press of the one button on screen in ``tracker`` it stands for; else ``message`` itself.

    ``tracker`` is the sender's conversation as Rasa holds it for this turn, before the message is added.
    """
    if message.parse_data or not may_be_a_button(message.text):
        return message
    started = time.perf_counter()
    return _pressed(message, _buttons_of(_bot_data_after_last_message(tracker.events)), domain, started)


async def as_pressed(agent: Any, message: UserMessage) -> UserMessage:
    """``message`` as the press of the one button on screen it stands for; else ``message`` itself."""
    if not may_be_a_button(message.text) or agent is None or getattr(agent, "tracker_store", None) is None:
        return message
    started = time.perf_counter()
    try:
        buttons = await buttons_on_screen(agent.tracker_store, str(message.sender_id))
    except Exception:  # the store's own read in this turn reports and refuses; here the message goes on as typed
        logger.warning("could not read the buttons on screen; the message is handled as typed", exc_info=True)
        return message
    return _pressed(message, buttons, agent.domain, started)


def _pressed(message: UserMessage, buttons: list[dict[str, Any]], domain: Any, started: float) -> UserMessage:
    """``message`` as the press of the one of ``buttons`` it stands for, or ``message`` itself."""
    pressed = match(str(message.text), buttons, load_paraphrases()) if buttons else None
    if pressed is None:
        logger.debug("typed-button check: no match among %d buttons (%.2f ms)", len(buttons), _ms(started))
        return message
    metadata = dict(message.metadata or {})
    metadata[METADATA_KEY] = {
        "typed": message.text,
        "title": pressed.title,
        "payload": pressed.payload,
        "how": pressed.how,
    }
    if intent_of(pressed.payload) is None:
        text, parse = pressed.payload, None
    else:
        text, parse = str(message.text), payload_parse(pressed.payload, domain)
        if parse is None:  # an intent this model does not know: a press would go to the NLU too
            return message
    logger.info("typed message taken as the button %r (%s, %.2f ms)", pressed.title, pressed.how, _ms(started))
    return UserMessage(
        text,
        message.output_channel,
        message.sender_id,
        parse_data=parse,
        input_channel=message.input_channel,
        message_id=message.message_id,
        metadata=metadata,
    )


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000
