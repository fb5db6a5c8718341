"""File the ticket the report form collected, or follow the open one it found; answer yes / no to an offer.

The offers a plain yes or no can answer: a ticket (or, for a private
matter, help) after the explanation, and a redemption at the 爱心超市.

After the triage explains a matter, the assistant offers to file it
(public and shared matters) or to connect the resident with help (private
matters). "登记工单" or a plain "好的" right after that offer starts the
report form (:mod:`actions.report_form`); when the form is complete, this
module files the ticket, attaches the photos and tells the resident the
number, whose matter it is, who handles it and by when.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from typing_extensions import override

from actions.points import REDEEM_SLOT, redeem_chosen_item
from actions.report_slots import NO_PHONE, REMEMBER, finished_events, start_events
from actions.runtime import resident_of, sessions
from actions.two_problems import offer_next
from backend.categories import default_table
from backend.dates import weekday_and_clock
from backend.errors import DomainError
from backend.photos import attach_photos
from backend.services.residents import remember_phone
from backend.tickets.lifecycle import STATUS_NAMES
from backend.tickets.service import create_ticket, follow, get_ticket, handler_name
from backend.triage.entities import extract

logger = logging.getLogger(__name__)


class ActionSubmitReport(Action):
    """The form is complete: file the ticket (or follow the duplicate the resident chose)."""

    @override
    def name(self) -> str:
        return "action_submit_report"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        """File, attach photos, and tell the number, the matter, the handler and the deadline."""
        table = default_table()
        code = str(tracker.get_slot("category") or "")
        description = str(tracker.get_slot("report_description") or "")
        category = table.get(code)
        if category is None or not description:
            dispatcher.utter_message(response="utter_report_what")
            return finished_events()
        place = str(tracker.get_slot("report_place") or "")
        phone = tracker.get_slot("report_phone")
        photos = [str(p) for p in tracker.get_slot("report_photos") or []]
        now = datetime.now(timezone.utc)
        try:
            with sessions().begin() as session:
                resident = resident_of(session, tracker)
                duplicate_of = tracker.get_slot("report_duplicate_of")
                if tracker.get_slot("report_duplicate") == "follow" and duplicate_of:
                    existing = get_ticket(session=session, number=str(duplicate_of))
                    if existing is not None:
                        follow(session=session, ticket=existing, resident=resident, now=now)
                        attach_photos(session=session, ticket=existing, resident=resident, tokens=photos)
                        dispatcher.utter_message(
                            response="utter_ticket_followed",
                            number=existing.number,
                            status=STATUS_NAMES[existing.status],
                            deadline=weekday_and_clock(existing.deadline),
                        )
                        followed = [*finished_events(), SlotSet("last_ticket", existing.number)]
                        return [*followed, *offer_next(dispatcher, tracker)]
                ticket = create_ticket(
                    session=session,
                    resident=resident,
                    category=code,
                    description=description,
                    place_text=place,
                    entities=extract(place),
                    now=now,
                    urgency=str(tracker.get_slot("report_urgency") or "normal"),
                    phone=None if not phone or phone == NO_PHONE else str(phone),
                )
                attached = attach_photos(session=session, ticket=ticket, resident=resident, tokens=photos)
                if tracker.get_slot(REMEMBER) == "yes" and ticket.contact_phone:
                    remember_phone(resident=resident, phone=str(ticket.contact_phone), now=now)
                member_name = handler_name(session=session, ticket=ticket) or ""
                number, deadline, dispatch = ticket.number, ticket.deadline, bool(ticket.needs_dispatch)
        except DomainError as exc:
            dispatcher.utter_message(text=str(exc))
            return []
        follow_up = f"您的网格员是 {member_name}。" if member_name else "社区工作人员会尽快派单。"
        if category.matter == "private":
            helper = f"网格员{member_name}" if member_name else "社区工作人员"  # "…对接：网格员陈建国会联系您"
            dispatcher.utter_message(response="utter_private_ticket_filed", number=number, follow_up=helper)
        else:
            dispatcher.utter_message(
                response="utter_ticket_filed",
                number=number,
                matter_name=table.matter_names[category.matter],
                handler=category.handler,
                follow_up=follow_up,
                deadline=weekday_and_clock(deadline),
                photos=f"已附照片 {attached} 张。" if attached else "",
            )
        if dispatch:
            dispatcher.utter_message(response="utter_ticket_needs_dispatch")
        # The next problem told in the same message, if any, is offered now (after the slots are cleared).
        return [*finished_events(), SlotSet("last_ticket", number), *offer_next(dispatcher, tracker)]


class ActionDeclineTicket(Action):
    """The resident does not want a ticket (or the category was wrong)."""

    @override
    def name(self) -> str:
        return "action_decline_ticket"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        """Confirm, and say how to correct a misunderstanding."""
        return decline_ticket(dispatcher, tracker)


def decline_ticket(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
    """The ticket offer is declined: confirm, and offer the next problem told in the same message, if any."""
    dispatcher.utter_message(response="utter_ticket_declined")
    return [SlotSet("offer_pending", False), *offer_next(dispatcher, tracker)]


# action_submit_report and the decline offer the next problem told in the same message (actions/two_problems.py).
OFFERING_ACTIONS = ("action_triage_request", "action_resolve_place", "action_submit_report", "action_handle_deny")


def answered_action(tracker: Tracker) -> str | None:
    """The bot action the latest message answers: the last one before it, if the resident said nothing in between."""
    seen_user = False
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            if seen_user:
                return None
            seen_user = True
        elif seen_user and event.get("event") == "action" and event.get("name") != "action_listen":
            return str(event.get("name"))
    return None


def answers_an_offer(tracker: Tracker) -> bool:
    """Whether the latest message answers a ticket offer made by the bot's last action."""
    return bool(tracker.get_slot("offer_pending")) and answered_action(tracker) in OFFERING_ACTIONS


def answers_a_redemption(tracker: Tracker) -> bool:
    """Whether the latest message answers "用 60 分兑换大米？"."""
    return bool(tracker.get_slot(REDEEM_SLOT)) and answered_action(tracker) == "action_points_redeem"


class ActionHandleAffirm(Action):
    """Yes (是的 / 好的) right after an offer starts the report form; otherwise asks what else is needed."""

    @override
    def name(self) -> str:
        return "action_handle_affirm"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        """Redeem when it answers a redemption question; start the form when it answers a ticket offer."""
        if answers_a_redemption(tracker):
            return redeem_chosen_item(dispatcher, tracker)
        if answers_an_offer(tracker):
            dispatcher.utter_message(response="utter_report_starting")
            return [*start_events(tracker), FollowupAction("report_form")]
        dispatcher.utter_message(response="utter_anything_else")
        return []


class ActionHandleDeny(Action):
    """No (不用了 / 不是) right after an offer declines it; otherwise asks what else is needed."""

    @override
    def name(self) -> str:
        return "action_handle_deny"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        """Decline the redemption or the ticket offer it answers."""
        return handle_deny(dispatcher, tracker)


def handle_deny(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
    """No: decline the redemption or the ticket offer it answers; otherwise ask what else is needed."""
    if answers_a_redemption(tracker):
        dispatcher.utter_message(response="utter_points_redeem_declined")
        return [SlotSet(REDEEM_SLOT, None)]
    if answers_an_offer(tracker):
        return decline_ticket(dispatcher, tracker)
    dispatcher.utter_message(response="utter_anything_else")
    return []
