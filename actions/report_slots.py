"""The report form's slots: their names, what starting and finishing a report sets, and what a correction clears.

The form ``report_form`` (``domain/report.yml``) asks, in order, the
description, the place, the duplicate question (only when there is one),
the urgency, the phone, whether to keep the phone, and the confirmation;
each step's answer is checked by a module of its own (see
:mod:`actions.report_form`). The helper slots keep what a step learnt
between turns (the place as the registry describes it, the tries, the
estate asked about, the ticket that may be followed).
"""

from __future__ import annotations

import logging
import re
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet

from actions.runtime import resident_of, sessions
from backend.tickets.urgency import infer_urgency
from backend.triage.place_answer import has_place

logger = logging.getLogger(__name__)

FORM = "report_form"
# Set by a validator that already told the resident what to answer (with buttons): the next question is then
# not repeated underneath.
HINTED = "report_hinted"
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
FORM_SLOTS = (*FIELDS, "report_duplicate", REMEMBER, "report_confirm", *HELPER_SLOTS)
REQUEST_SLOTS = ("request_intent", "request_text", "category", "matter", "place_scope")
MAX_DESCRIPTION = 5000

# What a resident writes to change one field, and the field it names.
_FIELD_WORDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("report_place", re.compile(r"地点|地址|位置|哪儿|哪里|小区|楼号|门牌")),
    ("report_phone", re.compile(r"电话|手机|号码|联系方式")),
    ("report_urgency", re.compile(r"紧急|急不急|不急|程度")),
    ("report_description", re.compile(r"描述|情况|内容|问题|说明|补充")),
)


def latest_text(tracker: Tracker) -> str:
    """The latest message as the NLU received it, stripped."""
    return str((tracker.latest_message or {}).get("text") or "").strip()


def latest_intent(tracker: Tracker) -> str:
    """The intent the NLU gave the latest message."""
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


def required_slots(domain_slots: list[str], tracker: Tracker) -> list[str]:
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
