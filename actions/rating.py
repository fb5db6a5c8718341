"""评单 in the conversation: the resident rates a resolved ticket by button or in words.

The rating question arrives with the "办结" notification (buttons carry the
ticket number). A typed "挺满意的" rates the resident's latest resolved
ticket. 不满意 reopens it one level up the chain; the resident is told who
takes it now. A compliment with nothing waiting for a rating is simply
thanked.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.runtime import resident_of, resident_text, sessions
from backend.errors import DomainError
from backend.tickets.escalation import LEVEL_NAMES
from backend.tickets.ratings import RATINGS, rating_buttons, rating_from_text
from backend.tickets.satisfaction import awaiting_rating, rate_ticket
from backend.tickets.service import get_ticket_for_resident
from backend.triage.entities import extract

_RATING_WORDS = re.compile(r"非常|很|挺|比较|还|都|满意|基本|不|一般|还行|凑合|好评|谢谢|感谢|[，。！!~、\s]")


def _entity(tracker: Tracker, name: str) -> str | None:
    for entity in (tracker.latest_message or {}).get("entities") or []:
        if entity.get("entity") == name and entity.get("value"):
            return str(entity["value"])
    return None


class ActionRateTicket(Action):
    """Record the rating of a resolved ticket and say what happens next."""

    def name(self) -> str:
        """The action's name in the domain."""
        return "action_rate_ticket"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        """Find the ticket, read the rating, act on it."""
        text = resident_text(tracker)
        chosen = _entity(tracker, "rating")
        rating = chosen if chosen in RATINGS and chosen != "default" else rating_from_text(text)
        number = _entity(tracker, "ticket_no") or extract(text).get("ticket_no")
        comment = None if text.startswith("/") else (text if len(_RATING_WORDS.sub("", text)) >= 4 else None)
        try:
            with sessions().begin() as session:
                resident = resident_of(session, tracker)
                ticket = (
                    get_ticket_for_resident(session=session, resident=resident, number=str(number))
                    if number
                    else awaiting_rating(session=session, resident=resident)
                )
                if ticket is None or ticket.resident_id != resident.id or ticket.status != "resolved":
                    dispatcher.utter_message(response="utter_thanks_for_rating")
                    return []
                if rating is None:
                    dispatcher.utter_message(
                        response="utter_ask_rating",
                        number=str(ticket.number),
                        buttons=rating_buttons(str(ticket.number)),
                    )
                    return []
                result = rate_ticket(
                    session=session,
                    ticket=ticket,
                    resident=resident,
                    rating=rating,
                    comment=comment,
                    now=datetime.now(timezone.utc),
                )
                if result.escalated_to is not None:
                    dispatcher.utter_message(
                        response="utter_rating_escalated",
                        number=str(ticket.number),
                        level=LEVEL_NAMES[result.escalated_to],
                    )
                else:
                    dispatcher.utter_message(
                        response="utter_rating_thanks",
                        number=str(ticket.number),
                        rating=RATINGS[rating],
                        points=f"评价得 {result.points} 积分。" if result.points else "",
                    )
        except DomainError as exc:
            dispatcher.utter_message(text=str(exc))
        return []
