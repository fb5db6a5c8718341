"""Emergencies (fire, gas smell, someone trapped or hurt, violence): call first, and a ticket at once.

The first thing the resident reads is the number to call now (119 / 110 /
120). The assistant does not ask anything before that; it files an
immediate-tier ticket from the message as it is, so the grid member knows
within the minute, and only then asks for the exact place if the message
did not give one the registry knows.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy import select

from actions.report_form import has_place
from actions.runtime import resident_of, resident_text, sessions
from backend.errors import DomainError
from backend.models import GridMember, Ticket
from backend.tickets.service import add_place, create_ticket
from backend.triage.emergency import emergency_category
from backend.triage.entities import extract

logger = logging.getLogger(__name__)


class ActionEmergency(Action):
    """Tell the resident whom to call, then file an immediate ticket."""

    def name(self) -> str:
        """The action's name in the domain."""
        return "action_emergency"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        """Numbers first; then the ticket; then the place question if needed."""
        dispatcher.utter_message(response="utter_emergency")
        text = resident_text(tracker)
        message = tracker.latest_message or {}
        code = emergency_category(text, list(message.get("intent_ranking") or []))
        try:
            with sessions().begin() as session:
                resident = resident_of(session, tracker)
                ticket = create_ticket(
                    session=session,
                    resident=resident,
                    category=code,
                    description=text,
                    place_text=text,
                    entities=extract(text),
                    now=datetime.now(timezone.utc),
                    urgency="emergency",
                )
                member = session.get(GridMember, ticket.assignee_id) if ticket.assignee_id else None
                number, dispatch = ticket.number, bool(ticket.needs_dispatch)
                who = f"网格员 {member.name}" if member is not None else "社区值班人员"
        except DomainError as exc:
            logger.warning("emergency ticket not filed: %s", exc)
            return []
        dispatcher.utter_message(response="utter_emergency_ticket", number=number, who=who)
        if dispatch:
            dispatcher.utter_message(response="utter_emergency_where")
        return [SlotSet("last_ticket", number), SlotSet("emergency_ticket", number if dispatch else None)]


def add_emergency_place(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType] | None:
    """After an emergency filed without a known place, a message naming one completes that ticket.

    Returns the events when the message was such a place, else None (the
    message is then handled as usual).
    """
    number = tracker.get_slot("emergency_ticket")
    text = resident_text(tracker)
    if not number or not has_place(text):
        return None
    with sessions().begin() as session:
        resident = resident_of(session, tracker)
        ticket = session.scalars(select(Ticket).filter_by(number=str(number), resident_id=resident.id)).first()
        if ticket is None:
            return [SlotSet("emergency_ticket", None)]
        routed = add_place(
            session=session,
            ticket=ticket,
            resident=resident,
            place_text=text,
            entities=extract(text),
            now=datetime.now(timezone.utc),
        )
    dispatcher.utter_message(
        response="utter_emergency_place_added" if routed else "utter_emergency_place_noted", number=str(number)
    )
    return [SlotSet("emergency_ticket", None)]
