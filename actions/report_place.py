"""The place step of the report form: resolve the answer through the registry, help once or twice, then believe it.

An estate, a building, a road or a public place the registry knows is
routed to its grid. An estate without a building number gets one question
("枫林苑的几号楼？") and the answer is read together with the estate, unless
it names a place of its own (another estate, a road, 不是小区，是马路上).
A road is matched as a road (枫林路 is not 枫林苑), and a resident who says
the place is not in an estate is believed: no building is asked, the
question is which road. After two misses, or an answer to the building
question that still does not resolve, the resident's words are kept as
given and the ticket goes to the community's dispatch queue, flagged for
staff to check the place (``needs_dispatch`` and its timeline note, set by
:func:`backend.tickets.service.create_ticket` for a place that does not
route).
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.runtime import resident_of, sessions
from backend.tickets.routing import describe, route, suggest_places
from backend.tickets.service import find_duplicate
from backend.triage.entities import extract
from backend.triage.place import names_a_road, says_not_estate

logger = logging.getLogger(__name__)

PLACE_TRIES = 2
HINTED = "report_hinted"
AS_WRITTEN = "（社区工作人员核实后派单）"


def names_own_place(text: str) -> bool:
    """Whether an answer names a place of its own, not just the building of the estate asked about."""
    found = extract(text)
    if found.get("estate") or found.get("road") or found.get("place"):
        return True
    return names_a_road(text) or says_not_estate(text)


def check_place(dispatcher: CollectingDispatcher, tracker: Tracker, text: str, *, asked: bool) -> dict[str, Any]:
    """The slot values for a place answer (or a place pre-filled from the first message, when not ``asked``)."""
    partial = str(tracker.get_slot("report_place_partial") or "")
    building_asked = bool(partial) and asked
    candidate = f"{partial} {text}".strip() if building_asked and not names_own_place(text) else text
    not_estate = says_not_estate(candidate)
    tries = int(tracker.get_slot("report_place_tries") or 0)
    category = str(tracker.get_slot("category") or "")
    now = datetime.now(timezone.utc)
    with sessions().begin() as session:
        resident = resident_of(session, tracker)
        where = route(
            session=session,
            place_text=candidate,
            entities=extract(candidate),
            fallback_community_id=resident.community_id,
        )
        if where.resolved:
            duplicate = find_duplicate(session=session, category=category, where=where, now=now)
            found = duplicate is not None and duplicate.resident_id != resident.id
            return {
                "report_place": candidate,
                "report_place_display": describe(where),
                "report_place_partial": None,
                "report_duplicate_of": duplicate.number if found and duplicate else None,
                "report_duplicate": None,
            }
        if not asked:
            return {"report_place": None}  # a pre-filled place that does not resolve: just ask
        if where.estate is not None and where.building is None and not building_asked and not not_estate:
            dispatcher.utter_message(response="utter_report_which_building", estate=str(where.estate.name))
            return {"report_place": None, "report_place_partial": str(where.estate.name), HINTED: True}
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
