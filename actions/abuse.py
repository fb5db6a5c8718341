"""Swearing at the assistant or the staff: a calm answer, the hotline, and an invitation to say what went wrong.

The classifier reads pure abuse as the intent ``abuse``
(``data/nlu/abuse.yml``). The answer does not lecture and files nothing: it
acknowledges the anger, gives a person to call
(``config/human_contact.yml``) and asks what went wrong. An angry message
that says more is answered as what it says, by the triage action: a problem
(:func:`backend.triage.abuse.problem_behind_abuse`: "破物业又不修电梯，垃圾"),
a rating in words while one is pending ("垃圾，灯还是不亮"), a status
question ("修好没有啊，一帮废物"). In the middle of the report form the
abuse answer is given and the form asks its question again
(``data/rules/abuse.yml``).
"""

from __future__ import annotations

import logging

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from typing_extensions import override

from actions.rating import rating_in_words
from actions.requests import triage_request
from actions.runtime import resident_text
from actions.ticket_status import status_question
from backend.categories import default_table
from backend.human_contact import default_contact
from backend.triage.abuse import problem_behind_abuse

logger = logging.getLogger(__name__)


class ActionAnswerAbuse(Action):
    """A calm answer to abuse, with the hotline; an angry message that tells something is answered as that."""

    @override
    def name(self) -> str:
        return "action_answer_abuse"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        """Answer what the message tells; if it tells nothing, acknowledge, give the hotline, ask what went wrong."""
        in_form = bool((tracker.active_loop or {}).get("name"))
        if not in_form:
            if problem_behind_abuse(tracker.latest_message or {}, resident_text(tracker), default_table()):
                logger.info("an angry message that tells a problem: triaged")
                return await triage_request(dispatcher, tracker, domain)
            told = rating_in_words(dispatcher, tracker)
            if told is None:
                told = status_question(dispatcher, tracker)
            if told is not None:
                return told
        contact = default_contact()
        dispatcher.utter_message(response="utter_abuse", name=contact.name, phone=contact.phone, hours=contact.hours)
        return []
