"""File the ticket the resident agreed to: number, who handles it, by when.

After the triage explains a public or shared matter, the assistant offers to
file it; on "yes" this action routes the place through the registry, looks
for an open ticket of the same category at the same building or road in the
last 7 days (then the resident follows it instead of filing a duplicate),
and otherwise files a new ticket.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.runtime import channel_identity, sessions
from backend.categories import default_table
from backend.dates import clock, day_with_weekday
from backend.errors import DomainError
from backend.services.residents import get_or_create_resident
from backend.tickets.lifecycle import STATUS_NAMES
from backend.tickets.routing import route
from backend.tickets.service import create_ticket, find_duplicate, follow
from backend.triage.entities import extract

logger = logging.getLogger(__name__)


def _date(moment: datetime) -> str:
    return f"{day_with_weekday(moment)}{clock(moment)}"


class ActionFileTicket(Action):
    """File (or follow) the ticket for the request settled in the slots."""

    def name(self) -> str:
        """The action's name in the domain."""
        return "action_file_ticket"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """File the ticket and tell the resident its number, handler and deadline."""
        table = default_table()
        code = tracker.get_slot("category")
        text = str(tracker.get_slot("request_text") or "")
        done = [SlotSet("offer_pending", False)]
        if not code or table.get(code) is None or not text:
            dispatcher.utter_message(response="utter_place_without_request")
            return done
        category = table.categories[code]
        channel, sender = channel_identity(tracker.sender_id)
        now = datetime.now(timezone.utc)
        entities = extract(text)
        try:
            with sessions().begin() as session:
                resident = get_or_create_resident(session=session, channel=channel, sender_id=sender)
                where = route(
                    session=session, place_text=text, entities=entities, fallback_community_id=resident.community_id
                )
                existing = find_duplicate(session=session, category=code, where=where, now=now)
                if existing is not None and existing.resident_id != resident.id:
                    follow(session=session, ticket=existing, resident=resident, now=now)
                    dispatcher.utter_message(
                        response="utter_ticket_duplicate",
                        number=existing.number,
                        status=STATUS_NAMES[existing.status],
                        deadline=_date(existing.deadline),
                    )
                    return done
                ticket = create_ticket(
                    session=session,
                    resident=resident,
                    category=code,
                    description=text,
                    place_text=text,
                    entities=entities,
                    now=now,
                )
                number, deadline, dispatch = ticket.number, ticket.deadline, bool(ticket.needs_dispatch)
        except DomainError as exc:
            dispatcher.utter_message(text=str(exc))
            return done
        dispatcher.utter_message(
            response="utter_ticket_filed",
            number=number,
            matter_name=table.matter_names[category.matter],
            handler=category.handler,
            deadline=_date(deadline),
        )
        if dispatch:
            dispatcher.utter_message(response="utter_ticket_needs_dispatch")
        return [*done, SlotSet("last_ticket", number)]


class ActionDeclineTicket(Action):
    """The resident does not want a ticket (or the category was wrong)."""

    def name(self) -> str:
        """The action's name in the domain."""
        return "action_decline_ticket"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Confirm, and say how to correct a misunderstanding."""
        dispatcher.utter_message(response="utter_ticket_declined")
        return [SlotSet("offer_pending", False)]


OFFERING_ACTIONS = ("action_triage_request", "action_resolve_place")


def answers_an_offer(tracker: Tracker) -> bool:
    """Whether the latest message answers a ticket offer made by the bot's last action."""
    if not tracker.get_slot("offer_pending"):
        return False
    seen_user = False
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            if seen_user:
                return False
            seen_user = True
        elif seen_user and event.get("event") == "action" and event.get("name") != "action_listen":
            return event.get("name") in OFFERING_ACTIONS
    return False


class ActionHandleAffirm(Action):
    """Yes (是的 / 好的): files the ticket just offered; otherwise asks what else is needed."""

    def name(self) -> str:
        """The action's name in the domain."""
        return "action_handle_affirm"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Delegate to filing when it answers an offer."""
        if answers_an_offer(tracker):
            return await ActionFileTicket().run(dispatcher, tracker, domain)
        dispatcher.utter_message(response="utter_anything_else")
        return []


class ActionHandleDeny(Action):
    """No (不用了 / 不是): declines the ticket just offered; otherwise asks what else is needed."""

    def name(self) -> str:
        """The action's name in the domain."""
        return "action_handle_deny"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Delegate to declining when it answers an offer."""
        if answers_an_offer(tracker):
            return await ActionDeclineTicket().run(dispatcher, tracker, domain)
        dispatcher.utter_message(response="utter_anything_else")
        return []
