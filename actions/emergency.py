"""Emergencies (fire, gas smell, someone trapped or hurt, violence): call first, and a ticket at once.

The first thing the resident reads is the number to call now (119 / 110 /
120, the gas company's line; ``config/emergency.yml``). The assistant does
not ask anything before that; it files an immediate-tier ticket from the
message as it is, so the grid member knows within the minute, and only then
asks for the exact place if the message did not give one the registry knows.

An emergency is recognised by the classifier's intent, and also by its words
(:func:`backend.tickets.urgency.emergency_call`) whatever category the
classifier chose ("有个老人在广场晕倒了" is not a 文明公约 matter).

What the resident says next belongs to that ticket for a while
(:data:`FOLLOW_UP_WINDOW`, the ``emergency_ticket`` slot): the place goes
onto it, and "已经打了120了，救护车在路上" goes on its timeline instead of
opening a second emergency.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from typing_extensions import override

from actions.runtime import resident_of, resident_text, sessions
from backend.categories import CODES
from backend.errors import DomainError
from backend.messages import EMERGENCY_CALL_NOW
from backend.models import Resident, Ticket
from backend.tickets.service import add_place, add_resident_note, create_ticket, handler_name, own_open_ticket
from backend.tickets.urgency import AMBULANCE, FIRE, GAS, POLICE, default_numbers, emergency_call, is_follow_up
from backend.triage.entities import extract
from backend.triage.place_answer import has_place

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

logger = logging.getLogger(__name__)

SLOT = "emergency_ticket"
# How long after an emergency what the resident says is read as about it.
FOLLOW_UP_WINDOW = timedelta(hours=2)

_BY_WORDS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"煤气|燃气|天然气|液化气|爆管|停水|停电|漏电|电线"), "utility"),
    (re.compile(r"电梯"), "elevator"),
)
# A kind of emergency told by its words decides the category when no word above does.
_BY_KIND = {AMBULANCE: "public_safety", FIRE: "public_safety", POLICE: "public_safety", GAS: "utility"}


def emergency_category(text: str, ranking: list[dict[str, object]]) -> str:
    """The category of an emergency: the words first (gas → utility), then the classifier's best request category."""
    for words, code in _BY_WORDS:
        if words.search(text):
            return code
    kind = emergency_call(text)
    if kind is not None:
        return _BY_KIND[kind]
    for entry in ranking:
        if entry.get("name") in CODES:
            return str(entry["name"])
    return "public_safety"


def numbers_text(kind: str | None) -> dict[str, str]:
    """The values of ``utter_emergency``: every number, and first the one for this kind of emergency."""
    numbers = default_numbers()
    values = {"fire": numbers.fire, "police": numbers.police, "ambulance": numbers.ambulance, "gas": numbers.gas}
    first = EMERGENCY_CALL_NOW[kind].format(number=numbers.of(kind), **values) if kind else ""
    return {"call_now": first, **values}


def _open_emergency(session: Session, tracker: Tracker, resident: Resident, now: datetime) -> Ticket | None:
    """The emergency ticket this conversation filed in the last while, if it is still open."""
    number = tracker.get_slot(SLOT)
    if not number:
        return None
    ticket = own_open_ticket(session=session, resident=resident, number=str(number))
    if ticket is None:
        return None
    created = ticket.created_at if ticket.created_at.tzinfo else ticket.created_at.replace(tzinfo=timezone.utc)
    return ticket if now - created <= FOLLOW_UP_WINDOW else None


def _handler(session: Session, ticket: Ticket) -> str:
    name = handler_name(session=session, ticket=ticket)
    return f"网格员 {name}" if name else "社区值班人员"


def _follow_up(
    dispatcher: CollectingDispatcher, session: Session, ticket: Ticket, resident: Resident, text: str, now: datetime
) -> list[EventType]:
    """Put what the resident said on the emergency's timeline (the place, or how it is going) and say so."""
    number = str(ticket.number)
    if ticket.needs_dispatch and has_place(text):
        routed = add_place(
            session=session, ticket=ticket, resident=resident, place_text=text, entities=extract(text), now=now
        )
        dispatcher.utter_message(
            response="utter_emergency_place_added" if routed else "utter_emergency_place_noted", number=number
        )
        return [SlotSet("last_ticket", number)]
    # The resident's own words: the owner and staff read them, a follower never does (not a staff entry).
    add_resident_note(session=session, ticket=ticket, resident=resident, note=text, now=now)
    dispatcher.utter_message(response="utter_emergency_follow_up", number=number, who=_handler(session, ticket))
    if ticket.needs_dispatch:
        dispatcher.utter_message(response="utter_emergency_where")
    return [SlotSet("last_ticket", number)]


def file_emergency(
    dispatcher: CollectingDispatcher, tracker: Tracker, text: str, ranking: list[dict[str, object]]
) -> list[EventType]:
    """Numbers first; then the ticket (or, during an open emergency, the message onto its ticket)."""
    now = datetime.now(timezone.utc)
    kind = emergency_call(text)
    try:
        with sessions().begin() as session:
            resident = resident_of(session, tracker)
            current = _open_emergency(session, tracker, resident, now)
            if current is not None:
                same = kind is None or emergency_call(str(current.description)) in (None, kind)
                if is_follow_up(text) or same:
                    return _follow_up(dispatcher, session, current, resident, text, now)
            dispatcher.utter_message(response="utter_emergency", **numbers_text(kind))
            ticket = create_ticket(
                session=session,
                resident=resident,
                category=emergency_category(text, ranking),
                description=text,
                place_text=text,
                entities=extract(text),
                now=now,
                urgency="emergency",
            )
            number, dispatch, who = ticket.number, bool(ticket.needs_dispatch), _handler(session, ticket)
    except DomainError as exc:
        logger.warning("emergency ticket not filed: %s", exc)
        return []
    dispatcher.utter_message(response="utter_emergency_ticket", number=number, who=who)
    if dispatch:
        dispatcher.utter_message(response="utter_emergency_where")
    return [SlotSet("last_ticket", number), SlotSet(SLOT, number)]


class ActionEmergency(Action):
    """Tell the resident whom to call, then file an immediate ticket."""

    @override
    def name(self) -> str:
        return "action_emergency"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        """Numbers first; then the ticket; then the place question if needed."""
        message = tracker.latest_message or {}
        return file_emergency(dispatcher, tracker, resident_text(tracker), list(message.get("intent_ranking") or []))


def emergency_turn(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType] | None:
    """Before a message is triaged as an ordinary request: is it an emergency, or about the one just filed?

    - Words of an emergency (someone fainted, trapped, a fire …), whatever the
      classifier's category: the numbers and an emergency ticket.
    - During an open emergency (:data:`FOLLOW_UP_WINDOW`): the place, while the
      ticket waits for one, goes onto it; "已经打了120了" goes on its timeline.

    Returns the events when the message was handled here, else None (the
    message is then handled as usual).
    """
    text = resident_text(tracker)
    if emergency_call(text) is not None:
        message = tracker.latest_message or {}
        return file_emergency(dispatcher, tracker, text, list(message.get("intent_ranking") or []))
    if not tracker.get_slot(SLOT) or not (has_place(text) or is_follow_up(text)):
        return None
    now = datetime.now(timezone.utc)
    with sessions().begin() as session:
        resident = resident_of(session, tracker)
        ticket = _open_emergency(session, tracker, resident, now)
        if ticket is None:
            return None
        if not is_follow_up(text) and not ticket.needs_dispatch:
            return None  # a place for something else: the emergency already has its place
        return _follow_up(dispatcher, session, ticket, resident, text, now)


# actions/requests.py calls the turn by its first name (it only added places then).
add_emergency_place = emergency_turn
