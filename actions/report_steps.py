"""What every step of the report form checks before reading its answer: a correction, or a question.

An answer may ask to change another field instead ("地址写错了"): that field
is cleared and asked again, the rest is kept. An answer may also be a
question the classifier took for an answer (积分怎么换 at the place step):
it is answered (:mod:`actions.report_interruptions`), not stored.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.report_interruptions import answer_question
from actions.report_slots import clear_field, field_named, latest_intent, latest_text

logger = logging.getLogger(__name__)


def correction(dispatcher: CollectingDispatcher, tracker: Tracker, slot: str) -> dict[str, Any] | None:
    """An answer that asks to change another field ("地址写错了") clears that field instead; else ``None``."""
    if latest_intent(tracker) != "report_edit":
        return None
    field = field_named(latest_text(tracker))
    if field is None or field == slot:
        return None
    dispatcher.utter_message(response="utter_report_will_change")
    # While validating, the tracker holds this message as the asked slot's value: it is no answer to it.
    return {**clear_field(field), slot: None}


async def answered_question(dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> bool:
    """Whether the answer was a question, now answered (积分怎么换 at the place step): then nothing is stored."""
    return await answer_question(dispatcher, tracker, domain, latest_text(tracker))
