"""The report form's last step: 确认 files, 修改 changes one field (named, or chosen from the list), else ask again.

The summary the resident confirms is shown by
:class:`actions.report_questions.ActionAskReportConfirm`.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.report_corrections import corrected_values
from actions.report_slots import HINTED, clear_field, field_named, latest_intent
from actions.report_steps import answered_question

logger = logging.getLogger(__name__)

_CONFIRM = re.compile(r"确认|确定|没问题|对的|没错|提交|可以|行|好的|是的|OK|ok")


async def check_confirm(
    slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
) -> dict[str, Any]:
    """确认 files; 修改 asks which field (or changes the one named); anything else shows the summary again."""
    if await answered_question(dispatcher, tracker, domain):
        return {"report_confirm": None}
    text, intent = str(slot_value or ""), latest_intent(tracker)
    if intent == "report_edit" or intent == "deny" or re.search(r"修改|改一下|不对|错了", text):
        field = field_named(text)
        if field is not None:
            return {**clear_field(field), **corrected_values(dispatcher, tracker, field, text)}
        return {"report_confirm": None, "report_editing": True}
    if tracker.get_slot("report_editing"):
        field = field_named(text)
        if field is not None:
            return {**clear_field(field), **corrected_values(dispatcher, tracker, field, text)}
    if intent == "affirm" or _CONFIRM.search(text):
        return {"report_confirm": "yes", "report_editing": False}
    dispatcher.utter_message(response="utter_report_confirm_unclear")
    return {"report_confirm": None, HINTED: True}
