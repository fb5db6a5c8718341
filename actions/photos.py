"""A photo from the resident: kept for the report in progress, or attached to their latest ticket.

The web chat and the Telegram bridge store the image through the backend
(:mod:`backend.photos`) and send ``/share_photo{"photo": "<token>"}`` as the
resident. A token that is not the sender's own is treated like no photo.
Typing "我拍了照片" without an image gets instructions.
"""

from __future__ import annotations

import logging

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from typing_extensions import override

from actions.report_slots import FORM
from actions.runtime import resident_of, sessions
from backend.photos import MAX_PER_TICKET, attach_photos, photo_of
from backend.tickets.service import own_open_ticket

logger = logging.getLogger(__name__)


def photo_token(tracker: Tracker) -> str | None:
    """The photo token the message carries, if any."""
    for entity in (tracker.latest_message or {}).get("entities") or []:
        if entity.get("entity") == "photo" and entity.get("value"):
            return str(entity["value"])
    return None


class ActionReceivePhoto(Action):
    """Keep or attach the photo the resident sent."""

    @override
    def name(self) -> str:
        return "action_receive_photo"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        """In a report: keep it for the ticket. After one: attach it to the resident's open ticket."""
        token = photo_token(tracker)
        if token is None:
            dispatcher.utter_message(response="utter_photo_how")
            return []
        kept = list(tracker.get_slot("report_photos") or [])
        with sessions().begin() as session:
            resident = resident_of(session, tracker)
            if photo_of(session=session, resident=resident, token=token) is None:
                dispatcher.utter_message(response="utter_photo_lost")
                return []
            in_report = (tracker.active_loop or {}).get("name") == FORM
            last = tracker.get_slot("last_ticket")
            ticket = (
                own_open_ticket(session=session, resident=resident, number=str(last))
                if last and not in_report
                else None
            )
            if ticket is not None:
                attached = attach_photos(session=session, ticket=ticket, resident=resident, tokens=[token])
                if attached:
                    dispatcher.utter_message(response="utter_photo_attached", number=ticket.number)
                else:
                    dispatcher.utter_message(response="utter_photo_full", limit=MAX_PER_TICKET)
                return []
        if token in kept:
            return []
        if len(kept) >= MAX_PER_TICKET:
            dispatcher.utter_message(response="utter_photo_full", limit=MAX_PER_TICKET)
            return []
        dispatcher.utter_message(response="utter_photo_kept" if in_report else "utter_photo_kept_for_later")
        return [SlotSet("report_photos", [*kept, token])]
