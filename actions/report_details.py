"""The report form's description and urgency steps: the resident's words kept whole, and 紧急 or 一般.

The description is pre-filled with the resident's first message; the
urgency is inferred from the words (:func:`backend.tickets.urgency.infer_urgency`),
shown in the summary and asked only when the resident wants to change it.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.report_slots import HINTED, MAX_DESCRIPTION, latest_text
from actions.report_steps import answered_question, correction
from backend.tickets.urgency import URGENCY_NAMES, urgency_from_answer

logger = logging.getLogger(__name__)


def check_description(slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker) -> dict[str, Any]:
    """Keep the resident's words whole (up to 5,000 characters)."""
    text = str(slot_value or "").strip()
    if not text:
        dispatcher.utter_message(response="utter_ask_report_description")
        return {"report_description": None, HINTED: True}
    if tracker.get_slot("requested_slot") == "report_description":
        text = latest_text(tracker) or text  # the message itself, not a normalised copy
    return {"report_description": text[:MAX_DESCRIPTION]}


async def check_urgency(
    slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
) -> dict[str, Any]:
    """紧急 or 一般: a pre-filled inference passes, an answer is read."""
    value = str(slot_value or "")
    if tracker.get_slot("requested_slot") != "report_urgency" and value in URGENCY_NAMES:
        return {"report_urgency": value}
    changed = correction(dispatcher, tracker, "report_urgency")
    if changed is not None:
        return changed
    if await answered_question(dispatcher, tracker, domain):
        return {"report_urgency": None}
    chosen = urgency_from_answer(value)
    if chosen is None:
        dispatcher.utter_message(response="utter_report_urgency_unclear")
    return {"report_urgency": chosen}
