"""The report form (登记表单): ask only for what is missing, validate, summarise, allow corrections.

The form ``report_form`` (``domain/report.yml``) collects, in order, each
step's answer checked by its own module:

- ``report_description``: pre-filled with the resident's first message,
  whole; ``report_urgency``: inferred from the words, shown in the summary,
  asked only when the resident wants to change it (:mod:`actions.report_details`);
- ``report_place``: pre-filled when the first message names a place; checked
  against the registry (roads as roads, 不是小区 believed); a place the
  registry does not know gets suggestions and one more try, then the
  resident's own words are accepted and the ticket goes to the community's
  dispatch queue; ``report_duplicate``: asked only when an open ticket of the
  same category exists at the same building or road (follow it, or file
  anyway) (:mod:`actions.report_place`);
- ``report_phone`` and ``report_remember_phone``: optional; a mainland mobile
  number, never echoed in full (:mod:`actions.report_contact`);
- ``report_confirm``: the summary with 确认 / 修改 / 取消 (numbers in the
  description shown masked; the ticket keeps the resident's words as typed)
  (:mod:`actions.report_confirm`, the questions in :mod:`actions.report_questions`).

Photos are not a step: a photo sent at any point of the form is kept and
attached on filing (:mod:`actions.photos`). Any answer may instead ask to
change one field ("地址写错了"): that field is cleared and asked again, the
rest is kept. Cancelling and questions (status, points, help) are handled
by rules (``data/rules/report.yml``) that interrupt the form and come back
to it with "好，我们接着登记："; a question the classifier took for an answer
is answered, not stored (:mod:`actions.report_steps`).
"""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, FollowupAction
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from typing_extensions import override

from actions.report_confirm import check_confirm
from actions.report_contact import check_phone, check_remember_phone
from actions.report_details import check_description, check_urgency
from actions.report_place import check_duplicate, check_place_answer
from actions.report_slots import required_slots, start_events

logger = logging.getLogger(__name__)


class ActionStartReport(Action):
    """Start the report form ("登记工单") for the request just explained."""

    @override
    def name(self) -> str:
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
        """The questions this report needs (:func:`actions.report_slots.required_slots`)."""
        return required_slots(domain_slots, tracker)

    async def validate_report_description(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Keep the resident's words whole."""
        return check_description(slot_value, dispatcher, tracker)

    async def validate_report_place(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Resolve the place through the registry."""
        return await check_place_answer(slot_value, dispatcher, tracker, domain)

    async def validate_report_duplicate(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Follow the existing ticket, or file a separate one."""
        return await check_duplicate(slot_value, dispatcher, tracker, domain)

    async def validate_report_urgency(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """紧急 or 一般."""
        return await check_urgency(slot_value, dispatcher, tracker, domain)

    async def validate_report_phone(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """A mainland mobile number, or "不留"."""
        return await check_phone(slot_value, dispatcher, tracker, domain)

    async def validate_report_remember_phone(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Keep the number for next time only on a clear yes."""
        return await check_remember_phone(slot_value, dispatcher, tracker, domain)

    async def validate_report_confirm(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """确认 files; 修改 changes a field; anything else shows the summary again."""
        return await check_confirm(slot_value, dispatcher, tracker, domain)
