"""A message in another language: a short answer in that language saying the assistant works in Chinese.

The Rasa component :mod:`backend.rasa_ext.other_languages` sets the intent
``other_language`` from the message's letters; this action reads the same
letters (:func:`backend.triage.languages.language_of`) to choose the
answer: English, Japanese, Korean or Russian, English for any other
language. Each answer says to write in Chinese or call the street's hotline
(``config/human_contact.yml``), and has one line in Chinese for whoever
helps the resident.
"""

from __future__ import annotations

import logging

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from typing_extensions import override

from actions.runtime import resident_text
from backend.human_contact import default_contact
from backend.triage.languages import ENGLISH, JAPANESE, KOREAN, RUSSIAN, language_of

logger = logging.getLogger(__name__)

ANSWERED_IN = frozenset({ENGLISH, JAPANESE, KOREAN, RUSSIAN})


def answer_language(text: str) -> str:
    """The language the answer to ``text`` is written in (English when there is no answer in its own)."""
    language = language_of(text)
    return language if language in ANSWERED_IN else ENGLISH


class ActionAnswerOtherLanguage(Action):
    """Say, in the resident's language, that the assistant works in Chinese, and what to do."""

    @override
    def name(self) -> str:
        return "action_answer_other_language"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        """Answer in the message's language, with the hotline."""
        language = answer_language(resident_text(tracker))
        logger.info("message in another language (%s): answered in it", language)
        contact = default_contact()
        dispatcher.utter_message(response=f"utter_other_language_{language}", name=contact.name, phone=contact.phone)
        return []
