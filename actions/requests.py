"""Understand a resident's request: category, matter, who handles it, and the place question.

The decision itself is :func:`backend.triage.core.triage`, the same code the
triage API and the command line use; this module only turns it into
conversation: an explanation from the category table, or one short question
about the place when the place decides the matter and the message does not
say it.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from typing_extensions import override

from actions import clarify, two_problems
from actions.emergency import add_emergency_place
from actions.points import REDEEM_SLOT
from actions.rating import rating_in_words
from actions.report_slots import finished_events
from actions.runtime import resident_of, resident_text, sessions
from actions.ticket_status import answer_ticket_status, status_question
from backend.categories import Category, CategoryTable, default_table
from backend.dates import day_with_weekday, local
from backend.privacy import mask_text
from backend.private_help import default_help
from backend.tickets.routing import describe, route
from backend.triage.core import resolve_with_answer, triage
from backend.triage.entities import extract
from backend.triage.place import scope_of
from backend.triage.place_answer import has_place

logger = logging.getLogger(__name__)

SHORT_ANSWER = 12


def deadline_text(table: CategoryTable, code: str, now: datetime) -> str:
    """'今天 23:59 前' or '11月24日（周二）23:59 前' in the district's time."""
    due = table.deadline(code, now)
    if due.date() == local(now).date():
        return "今天 23:59 前"
    return f"{day_with_weekday(due)}23:59 前"


def explain(dispatcher: CollectingDispatcher, table: CategoryTable, category: Category) -> None:
    """Tell the resident whose matter it is, why, who handles it and by when.

    Public and shared matters are then offered a ticket. A private matter
    is the household's own, so no ticket is offered; the community's help
    for it (``config/private_help.yml``) is listed instead, with an offer to
    connect the resident, which files a private ticket.
    """
    dispatcher.utter_message(
        response="utter_request_understood",
        matter_name=table.matter_names[category.matter],
        category_name=category.name,
        why=category.why,
        handler=category.handler,
        tier_name=table.tier_names[category.tier],
        deadline_text=deadline_text(table, category.code, datetime.now(timezone.utc)),
    )
    if category.matter in ("public", "shared"):
        dispatcher.utter_message(response="utter_offer_ticket")
        return
    options = default_help().get(category.code, [])
    dispatcher.utter_message(response="utter_private_help", help="\n".join(o.line() for o in options))


def _settled(table: CategoryTable, code: str, intent: str, text: str, scope: str | None) -> list[dict[str, Any]]:
    category = table.categories[code]
    return [
        SlotSet("offer_pending", True),
        SlotSet("request_intent", intent),
        SlotSet("request_text", text),
        SlotSet("category", category.code),
        SlotSet("matter", category.matter),
        SlotSet("place_scope", scope),
        SlotSet("awaiting_place", False),
    ]


class ActionTriageRequest(Action):
    """After a request intent: explain the category, or ask where the problem is."""

    @override
    def name(self) -> str:
        return "action_triage_request"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Triage the latest message and answer; an open "which of the two" question is answered or passed over."""
        return await triage_request(dispatcher, tracker, domain)


async def triage_request(
    dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
) -> list[dict[str, Any]]:
    """Triage the latest message and answer it; shared by the actions that find a message is a request after all.

    An open "which of the two" question is answered or passed over.
    """
    events = await _answer(dispatcher, tracker, domain)
    asked = any(e.get("event") == "slot" and e.get("name") == clarify.PENDING for e in events)
    if tracker.get_slot(clarify.PENDING) and not asked:
        events = [*events, *clarify.closed()]
    return events


async def _answer(dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict[str, Any]]:
    """What the message is once emergencies, ratings and status questions are ruled out: a request, explained."""
    completed = add_emergency_place(dispatcher, tracker)
    if completed is not None:
        return completed
    started = two_problems.asked_for_next(dispatcher, tracker)  # "还有噪音的事呢？" after the first was filed
    if started is not None:
        return started
    rated = rating_in_words(dispatcher, tracker)  # "不满意！灯还是不亮" while a rating is pending
    if rated is not None:
        return rated
    answered = status_question(dispatcher, tracker)  # "路灯修好没啊？？" about an open ticket
    if answered is not None:
        return answered
    table = default_table()
    message = tracker.latest_message or {}
    text = resident_text(tracker)
    choice = clarify.chosen(tracker)
    if choice == clarify.NEITHER:
        return clarify.describe_again(dispatcher)
    if choice is not None:
        # One of the two buttons (or its name, 第一个 …): the first message, as that category.
        text = str(tracker.get_slot(clarify.TEXT) or "")
        message = {"intent": {"name": choice, "confidence": 1.0}, "text": text}
    elif (message.get("intent") or {}).get("name") == "nlu_fallback" and extract(text).get("ticket_no"):
        # Unsure, but it names a ticket ("GZ20261122-0003 怎么样了"): answer about that ticket.
        return await answer_ticket_status(dispatcher, tracker, domain)
    pending = tracker.get_slot("request_intent")
    if (
        choice is None
        and tracker.get_slot("awaiting_place")
        and pending
        and len(text) <= SHORT_ANSWER
        and scope_of(text)
    ):
        # "在楼道里" typed instead of pressing a button: it answers the question.
        return await resolve_place(dispatcher, tracker, domain)
    result = triage(message, text, table=table)
    offered = tracker.get_slot("category")
    if choice is None and (result.category is None or (result.category == offered and len(text) <= SHORT_ANSWER)):
        # "枫林苑4号楼" after the offer, whatever the classifier made of it: the place of that request.
        added = place_for_offer(dispatcher, tracker)
        if added is not None:
            return added
    several = two_problems.problems_told(result, table)
    if several:
        # 烧烤店夜里吵 and 门口垃圾堆着 in one message: both said back, the first offered first.
        return two_problems.tell(dispatcher, table, several, text, explain)
    if result.choices:
        # Unsure between two categories: ask with both as buttons, not "没太明白".
        return clarify.ask(dispatcher, table, result, text)
    if result.kind == "request" and result.needs_clarification:
        dispatcher.utter_message(response="utter_ask_place_scope", question=result.question)
        return [
            SlotSet("request_intent", result.intent),
            SlotSet("request_text", text),
            SlotSet("category", None),
            SlotSet("matter", None),
            SlotSet("awaiting_place", True),
        ]
    if result.category is None:
        not_understood = message.get("intent", {}).get("name") == "nlu_fallback"
        dispatcher.utter_message(response="utter_ask_describe_problem" if not_understood else "utter_rephrase_request")
        return []
    explain(dispatcher, table, table.categories[result.category])
    return _settled(table, result.category, result.intent, text, result.place_scope)


def place_for_offer(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[dict[str, Any]] | None:
    """A bare place said while a ticket is offered ("枫林苑4号楼" after 电梯坏了): it belongs to that request.

    The place is added to the request's words, so the form that 登记工单
    starts has it pre-filled (and checked) and does not ask for it; the
    offer is repeated with the place as the registry knows it. None when
    no offer is pending, the message says no place, or the request already
    names one (a change of place is made at the summary).
    """
    text = resident_text(tracker)
    request = str(tracker.get_slot("request_text") or "")
    if not tracker.get_slot("offer_pending") or not request or has_place(request) or not has_place(text):
        return None
    with sessions().begin() as session:
        resident = resident_of(session, tracker)
        where = route(
            session=session, place_text=text, entities=extract(text), fallback_community_id=resident.community_id
        )
        shown = describe(where) if where.resolved else mask_text(text)
    dispatcher.utter_message(response="utter_offer_place_added", place=shown)
    dispatcher.utter_message(response="utter_offer_ticket")
    return [SlotSet("request_text", f"{request} {text}")]


class ActionResolvePlace(Action):
    """The resident said where: derive the category and matter from the place."""

    @override
    def name(self) -> str:
        return "action_resolve_place"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Resolve the pending request with the place answer."""
        return await resolve_place(dispatcher, tracker, domain)


async def resolve_place(
    dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
) -> list[dict[str, Any]]:
    """Resolve the pending request with the place answer (a short report when no place question was asked)."""
    completed = add_emergency_place(dispatcher, tracker)
    if completed is not None:
        return completed
    table = default_table()
    intent = tracker.get_slot("request_intent")
    if not tracker.get_slot("awaiting_place") or not intent:
        # No question was asked: "望江新村9号楼单元门坏了" may be a short report.
        if triage(tracker.latest_message or {}, resident_text(tracker), table=table).category is not None:
            return await triage_request(dispatcher, tracker, domain)
        added = place_for_offer(dispatcher, tracker)
        if added is not None:
            return added
        dispatcher.utter_message(response="utter_place_without_request")
        return []
    message = tracker.latest_message or {}
    answer = str(tracker.get_slot("place_scope") or "")
    entity_scopes = [e.get("value") for e in message.get("entities") or [] if e.get("entity") == "place_scope"]
    if entity_scopes:
        answer = str(entity_scopes[-1])
    elif message.get("text"):
        answer = str(message["text"])
    code, scope = resolve_with_answer(intent, answer, table=table)
    if code is None:
        dispatcher.utter_message(response="utter_place_not_understood")
        return []
    explain(dispatcher, table, table.categories[code])
    return _settled(table, code, intent, str(tracker.get_slot("request_text") or ""), scope)


class ActionCancelRequest(Action):
    """Forget the request in progress."""

    @override
    def name(self) -> str:
        return "action_cancel_request"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Stop the report form if one is running, clear the request, and confirm.

        Photos already sent stay stored (nothing a resident sent is lost) but
        are no longer waiting for a ticket; a redemption being confirmed is
        dropped too.
        """
        dispatcher.utter_message(response="utter_cancelled")
        stop: list[dict[str, Any]] = []
        if (tracker.active_loop or {}).get("name"):
            stop = [ActiveLoop(None), SlotSet("requested_slot", None)]
        return [*stop, *finished_events(), SlotSet(REDEEM_SLOT, None), *two_problems.forgotten()]


class ActionCancelReport(ActionCancelRequest):
    """Cancel said while the report form runs: the same answer, and the form stops.

    A separate action because Rasa's rules require an action that ends a form
    to end it in every rule it appears in.
    """

    @override
    def name(self) -> str:
        return "action_cancel_report"
