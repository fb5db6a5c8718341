"""The place step of the report form: resolve the answer through the registry, help once or twice, then believe it.

An estate, a building, a road or a public place the registry knows is
routed to its grid (:func:`backend.tickets.place_check.check_report_place`).
An estate without a building number gets one question ("枫林苑的几号楼？")
and the answer is read together with the estate, unless it names a place
of its own (:func:`backend.triage.place_answer.place_candidate`). A road is
matched as a road (枫林路 is not 枫林苑), and a resident who says the place
is not in an estate is believed: no building is asked, the question is
which road. After two misses, or an answer to the building question that
still does not resolve, the resident's words are kept as given and the
ticket goes to the community's dispatch queue, flagged for staff to check
the place (``needs_dispatch`` and its timeline note, set by
:func:`backend.tickets.service.create_ticket` for a place that does not
route).

When the place resolves and another resident's open ticket of the same
category is there, the form asks whether to follow it (the duplicate step).
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timezone
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.report_slots import HINTED, latest_intent
from actions.report_steps import answered_question, correction
from actions.runtime import resident_of, sessions
from backend.dates import weekday_and_clock
from backend.tickets.place_check import check_report_place
from backend.tickets.routing import suggest_places
from backend.tickets.service import get_ticket
from backend.tickets.visibility import follower_view
from backend.triage.place import says_not_estate
from backend.triage.place_answer import place_candidate

logger = logging.getLogger(__name__)

PLACE_TRIES = 2
AS_WRITTEN = "（社区工作人员核实后派单）"
_FOLLOW = re.compile(r"关注|就这张|一样|同一个|好的|可以")
_FILE_ANYWAY = re.compile(r"单独|不一样|不是同一|还是登记|重新登记|新登记|另外登记|再登记")


def check_place(dispatcher: CollectingDispatcher, tracker: Tracker, text: str, *, asked: bool) -> dict[str, Any]:
    """The slot values for a place answer (or a place pre-filled from the first message, when not ``asked``)."""
    partial = str(tracker.get_slot("report_place_partial") or "")
    building_asked = bool(partial) and asked
    candidate = place_candidate(text, partial=partial, asked=asked)
    not_estate = says_not_estate(candidate)
    tries = int(tracker.get_slot("report_place_tries") or 0)
    category = str(tracker.get_slot("category") or "")
    now = datetime.now(timezone.utc)
    with sessions().begin() as session:
        resident = resident_of(session, tracker)
        found = check_report_place(session=session, resident=resident, place_text=candidate, category=category, now=now)
        if found.resolved:
            return {
                "report_place": candidate,
                "report_place_display": found.display,
                "report_place_partial": None,
                "report_duplicate_of": found.duplicate_of,
                "report_duplicate": None,
            }
        if not asked:
            return {"report_place": None}  # a pre-filled place that does not resolve: just ask
        estate = found.estate_without_building
        if estate is not None and not building_asked and not not_estate:
            dispatcher.utter_message(response="utter_report_which_building", estate=estate)
            return {"report_place": None, "report_place_partial": estate, HINTED: True}
        tries += 1
        if tries >= PLACE_TRIES or (building_asked and not not_estate):
            logger.info("place accepted as written after %d misses; flagged for dispatch", tries)
            dispatcher.utter_message(response="utter_report_place_as_written")
            return {
                "report_place": candidate,
                "report_place_display": f"{candidate}{AS_WRITTEN}",
                "report_place_tries": tries,
                "report_place_partial": None,
                "report_duplicate_of": None,
            }
        names = suggest_places(session=session, text=candidate)
    buttons = [{"title": n, "payload": n} for n in names]
    if not_estate:
        dispatcher.utter_message(response="utter_report_which_road", suggestions="、".join(names), buttons=buttons)
    else:
        dispatcher.utter_message(response="utter_report_place_unknown", suggestions="、".join(names), buttons=buttons)
    return {"report_place": None, "report_place_tries": tries, "report_place_partial": None, HINTED: True}


async def check_place_answer(
    slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
) -> dict[str, Any]:
    """Resolve the place through the registry; a correction or a question is handled, not stored."""
    asked = tracker.get_slot("requested_slot") == "report_place"
    changed = correction(dispatcher, tracker, "report_place") if asked else None
    if changed is not None:
        return changed
    if asked and await answered_question(dispatcher, tracker, domain):
        return {"report_place": None}
    text = str(slot_value or "").strip()
    return check_place(dispatcher, tracker, text, asked=asked)


async def check_duplicate(
    slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
) -> dict[str, Any]:
    """Follow the existing ticket, or file a separate one because this case is different."""
    if await answered_question(dispatcher, tracker, domain):
        return {"report_duplicate": None}
    text, intent = str(slot_value or ""), latest_intent(tracker)
    if _FILE_ANYWAY.search(text) or intent in ("deny", "report_start"):
        return {"report_duplicate": "file"}
    if intent == "affirm" or _FOLLOW.search(text):
        return {"report_duplicate": "follow"}
    dispatcher.utter_message(response="utter_report_duplicate_unclear")
    return {"report_duplicate": None}


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
            ticket = get_ticket(session=session, number=number)
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
