"""Two problems in one message: say both back, register the first, then offer the next.

The Rasa server's parse says when a message tells several problems
(:mod:`backend.rasa_ext.patches.several_problems`, decided by
:mod:`backend.triage.several`). The triage then says them all back
(①②), explains the first and offers its ticket; the others wait in
``problems_pending``. Once the first is filed (or declined), the next is
offered with a button, its category, place and description carried over,
so pressing it, saying 好的, or asking ``还有噪音的事呢？`` starts its report:
that question is about the problem told earlier, not a status question.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.report_slots import start_events
from actions.runtime import resident_text
from backend.categories import Category, CategoryTable, default_table
from backend.triage.place import topic_of
from backend.triage.result import TriageResult

logger = logging.getLogger(__name__)

PENDING = "problems_pending"
OFFERED = "problem_offered"
MARKS = "①②③④⑤⑥⑦⑧"
COUNTS = {2: "两", 3: "三", 4: "四", 5: "五", 6: "六", 7: "七", 8: "八"}
# A message this short that names the offered problem, or says 还有… / 另一件, asks for it.
ASK_CHARS = 30
ASKS_FOR_THE_OTHER = re.compile(
    r"还有|另外(那|一)|另一件|另一个|第二件|第二个|那件事|那个事|的事呢|的事儿呢|的问题呢|这件呢|那个呢|接着登|也登记|一起登记|也帮我登"
)


def problems_told(result: TriageResult, table: CategoryTable) -> list[dict[str, Any]]:
    """The problems a triaged message tells when it tells several (known categories only), else empty.

    Problems whose matter is private come last: the ones a ticket is
    offered for are handled first.
    """
    found = [p for p in result.problems if table.get(str(p.get("category"))) is not None]
    if len(found) < 2:
        return []
    return sorted(found, key=lambda p: table.categories[str(p["category"])].matter == "private")


def tell(
    dispatcher: CollectingDispatcher,
    table: CategoryTable,
    problems: list[dict[str, Any]],
    text: str,
    explain: Callable[[CollectingDispatcher, CategoryTable, Category], None],
) -> list[EventType]:
    """Say every problem back, explain the first and offer it; keep the others for afterwards.

    Args:
        dispatcher: where the answer goes.
        table: the category table.
        problems: from :func:`problems_told`, two or more.
        text: the resident's message, whole: each ticket's description and place come from it.
        explain: :func:`actions.requests.explain` (passed in: that module imports this one).
    """
    lines = "\n".join(f"{MARKS[i]} {p['summary']}（{p['name']}）" for i, p in enumerate(problems[: len(MARKS)]))
    dispatcher.utter_message(
        response="utter_several_problems", count=COUNTS.get(len(problems), str(len(problems))), problems=lines
    )
    first = problems[0]
    category = table.categories[str(first["category"])]
    explain(dispatcher, table, category)
    rest = [{**p, "message": text, "mark": MARKS[i + 1]} for i, p in enumerate(problems[1 : len(MARKS)])]
    logger.info("several problems told: %s", ", ".join(str(p["category"]) for p in problems))
    return [*_offer_slots(category, text), SlotSet(PENDING, rest), SlotSet(OFFERED, None)]


def _offer_slots(category: Category, text: str) -> list[EventType]:
    return [
        SlotSet("offer_pending", True),
        SlotSet("request_intent", category.code),
        SlotSet("request_text", text),
        SlotSet("category", category.code),
        SlotSet("matter", category.matter),
        SlotSet("place_scope", None),
        SlotSet("awaiting_place", False),
    ]


def offer_next(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
    """After the first problem is filed or declined: offer the next one told in the same message.

    Returns the events that make the offer answerable (category, the
    message as description and place, ``offer_pending``), to be applied
    after the filing's own; nothing when no problem is waiting.
    """
    pending = [p for p in tracker.get_slot(PENDING) or [] if isinstance(p, dict)]
    if not pending:
        return [SlotSet(OFFERED, None)] if tracker.get_slot(OFFERED) else []
    table = default_table()
    waiting, rest = pending[0], pending[1:]
    category = table.get(str(waiting.get("category")))
    if category is None:
        return [SlotSet(PENDING, None), SlotSet(OFFERED, None)]
    dispatcher.utter_message(
        response="utter_offer_next_problem",
        mark=str(waiting.get("mark") or ""),
        summary=str(waiting.get("summary") or ""),
        category_name=category.name,
        handler=category.handler,
    )
    return [
        *_offer_slots(category, str(waiting.get("message") or waiting.get("text") or "")),
        SlotSet("offer_pending", True),
        SlotSet(PENDING, rest),
        SlotSet(OFFERED, waiting),
    ]


def _names_it(text: str, intent: str, offered: dict[str, Any], table: CategoryTable) -> bool:
    """Whether a short message asks for the offered problem: 还有… / 另一件, its category, or its topic."""
    if ASKS_FOR_THE_OTHER.search(text):
        return True
    code = str(offered.get("category") or "")
    if intent == code:
        return True
    offered_category, said = table.get(code), table.get(intent)
    if offered_category is None:
        return False
    group = offered_category.place_group
    return group is not None and (topic_of(text) == group or (said is not None and said.place_group == group))


def asked_for_next(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType] | None:
    """``还有噪音的事呢？`` while the next problem is offered: start its report; ``None`` otherwise."""
    offered = tracker.get_slot(OFFERED)
    if not isinstance(offered, dict) or not tracker.get_slot("offer_pending"):
        return None
    text = resident_text(tracker).strip()
    intent = str(((tracker.latest_message or {}).get("intent") or {}).get("name") or "")
    if not text or text.startswith("/") or len(text) > ASK_CHARS:
        return None
    if not _names_it(text, intent, offered, default_table()):
        return None
    dispatcher.utter_message(response="utter_report_starting")
    return [*start_events(tracker), SlotSet(OFFERED, None), FollowupAction("report_form")]


def forgotten() -> list[EventType]:
    """Cancelling drops the problems still waiting: the resident asked to stop."""
    return [SlotSet(PENDING, None), SlotSet(OFFERED, None)]
