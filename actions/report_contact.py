"""The report form's contact steps: an optional mobile number, and whether to keep it for next time.

A number is never echoed in full (the summary shows it masked), a wrong
one is refused without repeating it, and it is kept on the resident only
after a clear yes (:mod:`actions.contact` deletes it whenever they ask).
"""

from __future__ import annotations

import logging
import re
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.report_slots import HINTED, NO_PHONE, REMEMBER, latest_intent
from actions.report_steps import answered_question, correction
from backend.privacy import mask_phone
from backend.triage.entities import mobile_number

logger = logging.getLogger(__name__)

_SKIP_PHONE = re.compile(r"不留|不用|不想|不要|没有|算了|跳过|不方便|不给|免了|无")


async def check_phone(
    slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
) -> dict[str, Any]:
    """A mainland mobile number, or "不留"; a wrong number is refused without repeating it."""
    value = str(slot_value or "").strip()
    asked = tracker.get_slot("requested_slot") == "report_phone"
    if not asked:
        return {"report_phone": value if value == NO_PHONE or mobile_number(value) == value else None}
    changed = correction(dispatcher, tracker, "report_phone")
    if changed is not None:
        return changed
    if await answered_question(dispatcher, tracker, domain):
        return {"report_phone": None}
    number = mobile_number(value)
    if number is not None:
        return {"report_phone": number}
    if re.search(r"\d|[一二三四五六七八九零〇幺]{5,}", value):
        dispatcher.utter_message(response="utter_report_phone_invalid")
        return {"report_phone": None, HINTED: True}
    if latest_intent(tracker) == "deny" or _SKIP_PHONE.search(value):
        return {"report_phone": NO_PHONE}
    dispatcher.utter_message(response="utter_report_phone_why")
    return {"report_phone": None, HINTED: True}


async def check_remember_phone(
    slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
) -> dict[str, Any]:
    """Keep the number for next time only on a clear yes; a no is respected just as well."""
    changed = correction(dispatcher, tracker, REMEMBER)
    if changed is not None:
        return changed
    if await answered_question(dispatcher, tracker, domain):
        return {REMEMBER: None}
    text, intent = str(slot_value or ""), latest_intent(tracker)
    if intent == "deny" or re.search(r"不用|不要|别记|不记|不需要|算了", text):
        return {REMEMBER: "no"}
    if intent == "affirm" or re.search(r"记住|好的|可以|行|要", text):
        return {REMEMBER: "yes"}
    dispatcher.utter_message(response="utter_report_remember_unclear")
    return {REMEMBER: None, HINTED: True}


def phone_display(value: str | None, remember: str | None = None) -> str:
    """The phone as the summary shows it: masked (and whether it is kept for next time), or 不留."""
    if not value or value == NO_PHONE:
        return "不留"
    return mask_phone(value) + ("（下次自动填写）" if remember == "yes" else "")
