"""The report form's questions (``action_ask_<slot>``): asked once, not repeated under a validator's own hint.

A validator that has just told the resident what to answer (with buttons)
sets ``report_hinted``; the next question is then skipped once. After a
rule answered an interruption, the question starts with one line saying the
form goes on. The last question is the summary with 确认 / 修改 / 取消.
"""

from __future__ import annotations

import logging

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.report_contact import phone_display
from actions.report_interruptions import resumed_after_interruption
from actions.report_slots import HINTED, REMEMBER
from backend.categories import default_table
from backend.privacy import mask_phone, mask_text
from backend.tickets.urgency import URGENCY_NAMES

logger = logging.getLogger(__name__)

SUMMARY_CHARS = 120


class AskUnlessHinted(Action):
    """Ask for a slot with its response, unless the validator has just said what to answer."""

    slot = ""

    def name(self) -> str:
        """Rasa runs ``action_ask_<slot>`` to ask for the slot."""
        return f"action_ask_{self.slot}"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        """The question, or nothing (and the hint flag cleared); after an answered interruption, one line first."""
        if tracker.get_slot(HINTED):
            return [SlotSet(HINTED, False)]
        if resumed_after_interruption(tracker):
            dispatcher.utter_message(response="utter_report_resume")
        await self.ask(dispatcher, tracker)
        return []

    async def ask(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
        """Send the question."""
        dispatcher.utter_message(response=f"utter_ask_{self.slot}")


class ActionAskReportDescription(AskUnlessHinted):
    """Ask what the problem is."""

    slot = "report_description"


class ActionAskReportPlace(AskUnlessHinted):
    """Ask where the problem is."""

    slot = "report_place"


class ActionAskReportPhone(AskUnlessHinted):
    """Ask for an optional phone number."""

    slot = "report_phone"


class ActionAskReportRememberPhone(AskUnlessHinted):
    """Ask whether to keep the number for next time, showing it masked."""

    slot = REMEMBER

    async def ask(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
        """The question with the masked number."""
        dispatcher.utter_message(
            response="utter_ask_report_remember_phone", phone=mask_phone(tracker.get_slot("report_phone"))
        )


class ActionAskReportConfirm(AskUnlessHinted):
    """The summary before filing, or the list of fields when the resident wants to change one."""

    slot = "report_confirm"

    async def ask(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
        """Show the summary with 确认 / 修改 / 取消."""
        if tracker.get_slot("report_editing"):
            dispatcher.utter_message(response="utter_report_which_field")
            return
        table = default_table()
        category = table.categories.get(str(tracker.get_slot("category") or ""))
        # What the summary echoes is stored with the conversation's replies: numbers in it are masked
        # (before cutting, so a number on the cut is not left half visible). The ticket keeps them as typed.
        description = mask_text(str(tracker.get_slot("report_description") or ""))
        place = mask_text(str(tracker.get_slot("report_place_display") or tracker.get_slot("report_place") or ""))
        photos = list(tracker.get_slot("report_photos") or [])
        urgency = str(tracker.get_slot("report_urgency") or "normal")
        dispatcher.utter_message(
            response="utter_report_summary",
            kind=f"{table.matter_names[category.matter]} · {category.name}" if category else "—",
            place=place,
            description=description if len(description) <= SUMMARY_CHARS else description[:SUMMARY_CHARS] + "……",
            urgency=URGENCY_NAMES.get(urgency, urgency),
            phone=phone_display(tracker.get_slot("report_phone"), tracker.get_slot(REMEMBER)),
            photos=f"{len(photos)} 张" if photos else "没有（现在发照片也可以）",
        )
