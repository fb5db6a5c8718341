"""The report form (登记表单): ask only for what is missing, validate, summarise, allow corrections.

The form ``report_form`` (``domain/report.yml``) collects, in order:

- ``report_description``: pre-filled with the resident's first message, whole;
- ``report_place``: pre-filled when the first message names a place; checked
  against the registry (:mod:`actions.report_place`: roads as roads, 不是小区
  believed); a place the registry does not know gets suggestions and one
  more try, then the resident's own words are accepted and the ticket goes
  to the community's dispatch queue;
- ``report_duplicate``: asked only when an open ticket of the same category
  exists at the same building or road (follow it, or file anyway);
- ``report_urgency``: inferred from the words, shown in the summary, asked
  only when the resident wants to change it;
- ``report_phone``: optional; a mainland mobile number, never echoed in full;
- ``report_confirm``: the summary with 确认 / 修改 / 取消 (numbers in the
  description shown masked; the ticket keeps the resident's words as typed).

Photos are not a step: a photo sent at any point of the form is kept and
attached on filing (:mod:`actions.photos`). Any answer may instead ask to
change one field ("地址写错了"): that field is cleared and asked again, the
rest is kept. Cancelling and questions (status, points, help) are handled
by rules (``data/rules/report.yml``) that interrupt the form and come back
to it with "好，我们接着登记："; a question the classifier took for an answer
is answered, not stored (:mod:`actions.report_interruptions`).
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timezone
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy import select

from actions.report_corrections import corrected_values
from actions.report_interruptions import answer_question, resumed_after_interruption
from actions.report_place import HINTED, check_place
from actions.runtime import resident_of, sessions
from backend.categories import default_table
from backend.dates import weekday_and_clock
from backend.models import Ticket
from backend.privacy import mask_phone, mask_text
from backend.tickets.urgency import URGENCY_NAMES, infer_urgency, urgency_from_answer
from backend.tickets.visibility import follower_view
from backend.triage.entities import extract, mobile_number

logger = logging.getLogger(__name__)

FORM = "report_form"
# HINTED (report_hinted) is set by a validator that already told the resident what to answer (with
# buttons); the next question is then not repeated underneath.
NO_PHONE = "none"
FIELDS = ("report_description", "report_place", "report_urgency", "report_phone")
REMEMBER = "report_remember_phone"
HELPER_SLOTS = (
    "report_place_display",
    "report_place_tries",
    "report_place_partial",
    "report_duplicate_of",
    "report_editing",
    "report_phone_saved",
    HINTED,
)
FORM_SLOTS_ASKED = (*FIELDS, "report_duplicate", REMEMBER, "report_confirm")
FORM_SLOTS = (*FIELDS, "report_duplicate", REMEMBER, "report_confirm", *HELPER_SLOTS)
MAX_DESCRIPTION = 5000

# What a resident writes to change one field, and the field it names.
_FIELD_WORDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("report_place", re.compile(r"地点|地址|位置|哪儿|哪里|小区|楼号|门牌")),
    ("report_phone", re.compile(r"电话|手机|号码|联系方式")),
    ("report_urgency", re.compile(r"紧急|急不急|不急|程度")),
    ("report_description", re.compile(r"描述|情况|内容|问题|说明|补充")),
)
_SKIP_PHONE = re.compile(r"不留|不用|不想|不要|没有|算了|跳过|不方便|不给|免了|无")
_CONFIRM = re.compile(r"确认|确定|没问题|对的|没错|提交|可以|行|好的|是的|OK|ok")
_FOLLOW = re.compile(r"关注|就这张|一样|同一个|好的|可以")
_FILE_ANYWAY = re.compile(r"单独|不一样|不是同一|还是登记|重新登记|新登记|另外登记|再登记")


def _text(tracker: Tracker) -> str:
    return str((tracker.latest_message or {}).get("text") or "").strip()


def _intent(tracker: Tracker) -> str:
    return str(((tracker.latest_message or {}).get("intent") or {}).get("name") or "")


def field_named(text: str) -> str | None:
    """The form field a correction names ("电话填错了" → report_phone), or None."""
    for slot, words in _FIELD_WORDS:
        if words.search(text):
            return slot
    return None


def clear_field(slot: str) -> dict[str, Any]:
    """Slot values that make the form ask ``slot`` again and then show the summary again."""
    values: dict[str, Any] = {slot: None, "report_confirm": None, "report_editing": False}
    if slot == "report_phone":
        values[REMEMBER] = None
    if slot == "report_place":
        values.update(
            report_place_display=None,
            report_place_tries=0,
            report_place_partial=None,
            report_duplicate_of=None,
            report_duplicate=None,
        )
    return values


def has_place(text: str) -> bool:
    """Whether a message names a place the registry could resolve (estate, road, place or building)."""
    found = extract(text)
    return any(found.get(key) for key in ("estate", "road", "place", "building"))


REQUEST_SLOTS = ("request_intent", "request_text", "category", "matter", "place_scope")


def finished_events() -> list[EventType]:
    """Forget the request and the form once it is filed, followed or abandoned."""
    return [
        *(SlotSet(slot, None) for slot in (*REQUEST_SLOTS, *FORM_SLOTS)),
        SlotSet("report_photos", []),
        SlotSet("offer_pending", False),
        SlotSet("awaiting_place", False),
    ]


def start_events(tracker: Tracker) -> list[EventType]:
    """Reset the form's slots and pre-fill what the first message and the resident's profile already say.

    The resident's phone is pre-filled only when they consented to keep it.
    Photos already sent are kept.
    """
    text = str(tracker.get_slot("request_text") or "")
    with sessions().begin() as session:
        resident = resident_of(session, tracker)
        phone = resident.phone if resident.consent_at is not None and resident.phone else None
    values: dict[str, Any] = {slot: None for slot in FORM_SLOTS}
    values.update(
        report_description=text[:MAX_DESCRIPTION],
        report_place=text if has_place(text) else None,
        report_place_tries=0,
        report_urgency=infer_urgency(text),
        report_phone=phone,
        report_phone_saved=phone,
        report_photos=list(tracker.get_slot("report_photos") or []),
        offer_pending=False,
        awaiting_place=False,
    )
    return [SlotSet(slot, value) for slot, value in values.items()]


class ActionStartReport(Action):
    """Start the report form ("登记工单") for the request just explained."""

    def name(self) -> str:
        """The action's name in the domain."""
        return "action_start_report"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        """Pre-fill the form, or ask for the problem when none has been told yet."""
        if not tracker.get_slot("category") or not tracker.get_slot("request_text"):
            dispatcher.utter_message(response="utter_report_what")
            return [FollowupAction("action_listen")]
        dispatcher.utter_message(response="utter_report_starting")
        return start_events(tracker)


class ValidateReportForm(FormValidationAction):
    """Check each answer of the report form; a failed check asks again with help."""

    def name(self) -> str:
        """Rasa calls ``validate_<form>`` after every answer while the form is active."""
        return "validate_report_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        """The questions this report needs.

        The duplicate question only when there is one (after "follow it"
        nothing else is needed); "remember the phone?" only for a number the
        resident has not let us keep yet.
        """
        if tracker.get_slot("report_duplicate_of") and tracker.get_slot("report_duplicate") == "follow":
            return ["report_description", "report_place", "report_duplicate"]
        slots = list(domain_slots)
        if not tracker.get_slot("report_duplicate_of"):
            slots.remove("report_duplicate")
        phone = tracker.get_slot("report_phone")
        if not phone or phone == NO_PHONE or phone == tracker.get_slot("report_phone_saved"):
            slots.remove(REMEMBER)
        return slots

    def _correction(self, dispatcher: CollectingDispatcher, tracker: Tracker, slot: str) -> dict[str, Any] | None:
        """An answer that asks to change another field ("地址写错了") clears that field instead."""
        if _intent(tracker) != "report_edit":
            return None
        field = field_named(_text(tracker))
        if field is None or field == slot:
            return None
        dispatcher.utter_message(response="utter_report_will_change")
        # While validating, the tracker holds this message as the asked slot's value: it is no answer to it.
        return {**clear_field(field), slot: None}

    async def _question(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> bool:
        """A question the classifier took for an answer (积分怎么换 at the place step) is answered, not stored."""
        return await answer_question(dispatcher, tracker, domain, _text(tracker))

    async def validate_report_description(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Keep the resident's words whole (up to 5,000 characters)."""
        text = str(slot_value or "").strip()
        if not text:
            dispatcher.utter_message(response="utter_ask_report_description")
            return {"report_description": None, HINTED: True}
        if tracker.get_slot("requested_slot") == "report_description":
            text = _text(tracker) or text  # the message itself, not a normalised copy
        return {"report_description": text[:MAX_DESCRIPTION]}

    async def validate_report_place(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Resolve the place through the registry (:mod:`actions.report_place`); a question is answered, not stored."""
        asked = tracker.get_slot("requested_slot") == "report_place"
        correction = self._correction(dispatcher, tracker, "report_place") if asked else None
        if correction is not None:
            return correction
        if asked and await self._question(dispatcher, tracker, domain):
            return {"report_place": None}
        text = str(slot_value or "").strip()
        return check_place(dispatcher, tracker, text, asked=asked)

    async def validate_report_duplicate(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Follow the existing ticket, or file a separate one because this case is different."""
        if await self._question(dispatcher, tracker, domain):
            return {"report_duplicate": None}
        text, intent = str(slot_value or ""), _intent(tracker)
        if _FILE_ANYWAY.search(text) or intent in ("deny", "report_start"):
            return {"report_duplicate": "file"}
        if intent == "affirm" or _FOLLOW.search(text):
            return {"report_duplicate": "follow"}
        dispatcher.utter_message(response="utter_report_duplicate_unclear")
        return {"report_duplicate": None}

    async def validate_report_urgency(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """紧急 or 一般: a pre-filled inference passes, an answer is read."""
        value = str(slot_value or "")
        if tracker.get_slot("requested_slot") != "report_urgency" and value in URGENCY_NAMES:
            return {"report_urgency": value}
        correction = self._correction(dispatcher, tracker, "report_urgency")
        if correction is not None:
            return correction
        if await self._question(dispatcher, tracker, domain):
            return {"report_urgency": None}
        chosen = urgency_from_answer(value)
        if chosen is None:
            dispatcher.utter_message(response="utter_report_urgency_unclear")
        return {"report_urgency": chosen}

    async def validate_report_phone(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """A mainland mobile number, or "不留"; a wrong number is refused without repeating it."""
        value = str(slot_value or "").strip()
        asked = tracker.get_slot("requested_slot") == "report_phone"
        if not asked:
            return {"report_phone": value if value == NO_PHONE or mobile_number(value) == value else None}
        correction = self._correction(dispatcher, tracker, "report_phone")
        if correction is not None:
            return correction
        if await self._question(dispatcher, tracker, domain):
            return {"report_phone": None}
        number = mobile_number(value)
        if number is not None:
            return {"report_phone": number}
        if re.search(r"\d|[一二三四五六七八九零〇幺]{5,}", value):
            dispatcher.utter_message(response="utter_report_phone_invalid")
            return {"report_phone": None, HINTED: True}
        if _intent(tracker) == "deny" or _SKIP_PHONE.search(value):
            return {"report_phone": NO_PHONE}
        dispatcher.utter_message(response="utter_report_phone_why")
        return {"report_phone": None, HINTED: True}

    async def validate_report_remember_phone(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Keep the number for next time only on a clear yes; a no is respected just as well."""
        correction = self._correction(dispatcher, tracker, REMEMBER)
        if correction is not None:
            return correction
        if await self._question(dispatcher, tracker, domain):
            return {REMEMBER: None}
        text, intent = str(slot_value or ""), _intent(tracker)
        if intent == "deny" or re.search(r"不用|不要|别记|不记|不需要|算了", text):
            return {REMEMBER: "no"}
        if intent == "affirm" or re.search(r"记住|好的|可以|行|要", text):
            return {REMEMBER: "yes"}
        dispatcher.utter_message(response="utter_report_remember_unclear")
        return {REMEMBER: None, HINTED: True}

    async def validate_report_confirm(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """确认 files; 修改 asks which field (or changes the one named); anything else shows the summary again."""
        if await self._question(dispatcher, tracker, domain):
            return {"report_confirm": None}
        text, intent = str(slot_value or ""), _intent(tracker)
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


def phone_display(value: str | None, remember: str | None = None) -> str:
    """The phone as the summary shows it: masked (and whether it is kept for next time), or 不留."""
    if not value or value == NO_PHONE:
        return "不留"
    return mask_phone(value) + ("（下次自动填写）" if remember == "yes" else "")


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
            description=description if len(description) <= 120 else description[:120] + "……",
            urgency=URGENCY_NAMES.get(urgency, urgency),
            phone=phone_display(tracker.get_slot("report_phone"), tracker.get_slot(REMEMBER)),
            photos=f"{len(photos)} 张" if photos else "没有（现在发照片也可以）",
        )


class ActionAskReportDuplicate(Action):
    """Tell the resident the problem is already reported, and offer to follow that ticket."""

    def name(self) -> str:
        """Rasa runs ``action_ask_<slot>`` to ask for ``report_duplicate``."""
        return "action_ask_report_duplicate"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        """Name the open ticket as a follower may see it: number, category, the registry's place, status, deadline.

        The ticket is someone else's: nothing they wrote (description, the place
        as typed, their notes) is shown (:mod:`backend.tickets.visibility`).
        """
        number = str(tracker.get_slot("report_duplicate_of") or "")
        with sessions().begin() as session:
            ticket = session.scalars(select(Ticket).filter_by(number=number)).first()
            if ticket is None:
                return [SlotSet("report_duplicate_of", None), SlotSet("report_duplicate", "file")]
            view = follower_view(session=session, ticket=ticket, now=datetime.now(timezone.utc))
            dispatcher.utter_message(
                response="utter_report_duplicate",
                number=view.number,
                category_name=view.category_name,
                place=view.place or "—",
                status=view.status_name,
                deadline=weekday_and_clock(view.deadline),
            )
        return []
