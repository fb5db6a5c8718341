"""Answer "我的工单", "查询 GZ…" and "路灯修好没啊": the resident's tickets and one ticket's timeline.

A resident sees only tickets they filed or follow; someone else's number
gets exactly the answer a number that does not exist gets. A followed
ticket is shown as :mod:`backend.tickets.visibility` allows a follower to
see it: the handling, never the reporter's words.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from typing_extensions import override

from actions.gridwork_query import member_answer
from actions.runtime import resident_of, resident_text, sessions
from actions.two_problems import asked_for_next
from backend.categories import CategoryTable, default_table
from backend.dates import clock, day
from backend.messages import TIMELINE_KIND_NAMES
from backend.models import Resident, Ticket
from backend.privacy import mask_text
from backend.tickets.lookup import open_tickets_for_resident, things_named, tickets_about
from backend.tickets.ratings import rating_buttons
from backend.tickets.satisfaction import awaiting_rating
from backend.tickets.service import get_ticket_for_resident, tickets_for_resident
from backend.tickets.visibility import TicketView, TimelineEntry, summary_of, view_of
from backend.triage.entities import extract

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

logger = logging.getLogger(__name__)

# "修好没" "处理了吗" "弄好了没有" "怎么样了" "进度呢" "有回音没": asking how a reported thing is going.
ASKS_HOW_IT_GOES = re.compile(
    r"(修|弄|搞|整|处理|解决|办|换|清|修理|维修)(好了?|完了?|了)(没|吗|么|嘛|没有|不|啊没)"
    r"|好了?没|(怎么样|咋样|怎样|啥情况|什么情况|到哪|哪一步|进度|进展)(了|啦|呢|啊|呀|[?？]|$)"
    r"|有(回音|回复|消息|下文|动静|结果)(吗|没|了吗|了没|么)|修没修|有没有修|有没有弄"
)
# "有人管吗" "有人来弄没" "咋还没修" "啥时候修": a status question when a ticket is open, else often a new report.
ASKS_WHO_CARES = re.compile(
    r"有人(来)?(管|修|处理|弄|看|理)(吗|么|没|了吗|了没|没有)|有没有人(来)?(管|修|处理|弄|理)"
    r"|(咋|怎么|为啥|为什么|怎地)还(是)?(没|不)(人)?(来)?(修|管|弄|处理|换)"
    r"|(什么|啥)时候(能|会|才|来)?(修|弄|处理|解决|好)|(多久|几天)(能|才)(修|弄|好)|到底(管不管|修不修)"
)
# "我的工单" "查下我名下所有工单": the list, as before.
LIST_REQUEST = re.compile(
    r"我的工单$|^(查|看)(一)?(下|看)?(我的)?工单$|名下|所有工单|全部工单|几个工单|哪些工单|最近的工单"
)
# A long message is a letter about a problem, not a status question (backend.triage.place.LETTER_CHARS).
LETTER_CHARS = 80
MAX_BUTTONS = 6
PLACE_CHARS = 14


def _when(moment: datetime) -> str:
    return f"{day(moment)} {clock(moment)}"


class ActionTicketStatus(Action):
    """List the resident's tickets, or show one with its timeline."""

    @override
    def name(self) -> str:
        return "action_ticket_status"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Look the tickets up and answer in plain Chinese."""
        return await answer_ticket_status(dispatcher, tracker, domain)


async def answer_ticket_status(
    dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
) -> list[dict[str, Any]]:
    """Answer 我的工单 / 查询 GZ… / 路灯修好没: a member's grid ticket, the list, or one ticket with its timeline.

    Shared by ``action_ticket_status`` and every action that finds the
    message is really a status question (the triage, a grid command without
    a command, a question in the middle of the report form).
    """
    answered = await member_answer(dispatcher, tracker, domain)  # a grid member's 查询 of their grid's ticket
    if answered is not None:
        return answered
    started = asked_for_next(dispatcher, tracker)  # "还有噪音的事呢？": the other problem told, not a status
    if started is not None:
        return started
    table = default_table()
    text = resident_text(tracker)
    number = _entity(tracker, "ticket_no") or extract(text).get("ticket_no")
    now = datetime.now(timezone.utc)
    if not number and not LIST_REQUEST.search(text):
        answered = status_question(dispatcher, tracker, triage_follows=False, asked=True)
        if answered is not None:
            return answered
    with sessions().begin() as session:
        resident = resident_of(session, tracker)
        if number:
            ticket = get_ticket_for_resident(session=session, resident=resident, number=number)
            if ticket is None:
                dispatcher.utter_message(response="utter_ticket_not_found", number=number)
                return []
            show_ticket(dispatcher, session=session, ticket=ticket, resident=resident, now=now, table=table)
            return []
        tickets = tickets_for_resident(session=session, resident=resident)
        if not tickets:
            dispatcher.utter_message(response="utter_no_tickets")
            return []
        lines = []
        for t in tickets:
            line = summary_of(t, viewer=resident, now=now, table=table)
            lines.append(
                f"{line.number} {line.category_name} · {line.status_name} · 时限 {_when(line.deadline)}"
                + ("（已超期）" if line.overdue else "")
                + ("" if line.own else "（关注）")
            )
        dispatcher.utter_message(response="utter_ticket_list", tickets="\n".join(lines))
    return []


def show_ticket(
    dispatcher: CollectingDispatcher,
    *,
    session: Session,
    ticket: Ticket,
    resident: Resident,
    now: datetime,
    table: CategoryTable,
) -> None:
    """One ticket with its timeline, as :mod:`backend.tickets.visibility` lets this resident see it (查询 GZ…)."""
    view = view_of(session=session, ticket=ticket, viewer=resident, now=now, table=table)
    shown: dict[str, Any] = {
        "number": view.number,
        "category_name": view.category_name,
        "status": view.status_name,
        "deadline": _when(view.deadline),
        "timeline": timeline_text(view),
    }
    if view.own:
        dispatcher.utter_message(response="utter_ticket_detail", **shown)
    else:  # someone else's ticket the resident follows: the registry's place, the handling only
        dispatcher.utter_message(response="utter_ticket_detail_followed", place=view.place or "—", **shown)


def is_status_question(text: str) -> bool:
    """Whether the message asks how something is going (修好没, 怎么样了, 有人管吗 …) rather than reporting it."""
    return bool(ASKS_HOW_IT_GOES.search(text) or ASKS_WHO_CARES.search(text))


def status_question(
    dispatcher: CollectingDispatcher, tracker: Tracker, *, triage_follows: bool = True, asked: bool = False
) -> list[dict[str, Any]] | None:
    """Answer "路灯修好没啊？？" from the resident's open tickets; ``None`` when the message is not that.

    The ticket is found by the thing the message names (路灯 → streetlight
    tickets), else among all the resident's open tickets (own and followed),
    and the resident's latest resolved ticket still waiting for a rating.
    One ticket that fits gets its status, exactly as 查询 GZ… shows it; several
    get a question with one button each. When none fits, the resident is told
    so politely: with ``triage_follows`` (the caller, ActionTriageRequest,
    goes on to explain the problem and offer a ticket) ``None`` is returned
    after that line; otherwise the resident is asked to describe it as a new
    problem. "有人管吗" and "咋还没修" are also how new problems are told, so
    without any fitting ticket they are left to the caller untouched.

    Args:
        dispatcher: where the answer goes.
        tracker: the conversation; its latest message is the question.
        triage_follows: whether the caller treats the message as a new problem when this returns ``None``.
        asked: the NLU already read the message as a status question (intent ``ticket_status``).
    """
    text = resident_text(tracker)
    if not text or text.startswith("/") or len(text) >= LETTER_CHARS or extract(text).get("ticket_no"):
        return None
    how_it_goes = bool(ASKS_HOW_IT_GOES.search(text))
    named = things_named(text)
    if not (how_it_goes or ASKS_WHO_CARES.search(text) or (asked and named)):
        return None
    table = default_table()
    now = datetime.now(timezone.utc)
    with sessions().begin() as session:
        resident = resident_of(session, tracker)
        candidates = open_tickets_for_resident(session=session, resident=resident)
        unrated = awaiting_rating(session=session, resident=resident)
        if unrated is not None:
            candidates.append(unrated)
        fitting = tickets_about(candidates, named, resident=resident)
        if len(fitting) == 1:
            ticket = fitting[0]
            show_ticket(dispatcher, session=session, ticket=ticket, resident=resident, now=now, table=table)
            if ticket.status == "resolved":
                dispatcher.utter_message(
                    response="utter_ask_rating", number=str(ticket.number), buttons=rating_buttons(str(ticket.number))
                )
            return []
        if fitting:
            dispatcher.utter_message(response="utter_which_ticket", buttons=which_buttons(session, fitting, resident))
            return []
        if not (how_it_goes or asked):
            return None  # "小区垃圾堆了三天有人管吗" with nothing open about it: a new problem
        if not named:
            dispatcher.utter_message(response="utter_no_open_ticket")
            return []
        thing = named.words[0]
        dispatcher.utter_message(response="utter_no_open_ticket_about", thing=thing)
        if triage_follows:
            return None
        dispatcher.utter_message(response="utter_report_as_new", thing=thing)
        return []


def which_buttons(session: Session, tickets: list[Ticket], resident: Resident) -> list[dict[str, str]]:
    """One button a ticket: its number, category and place; pressing it asks for that ticket's status."""
    table = default_table()
    now = datetime.now(timezone.utc)
    buttons = []
    for ticket in tickets[:MAX_BUTTONS]:
        view = view_of(session=session, ticket=ticket, viewer=resident, now=now, table=table)
        place = mask_text(view.place or "")
        if len(place) > PLACE_CHARS:
            place = place[: PLACE_CHARS - 1] + "…"
        buttons.append(
            {
                "title": f"{view.number} {view.category_name}" + (f" · {place}" if place else ""),
                "payload": f'/ticket_status{{"ticket_no": "{view.number}"}}',
            }
        )
    return buttons


def _entity(tracker: Tracker, name: str) -> str | None:
    for entity in (tracker.latest_message or {}).get("entities") or []:
        if entity.get("entity") == name and entity.get("value"):
            return str(entity["value"])
    return None


def timeline_text(view: TicketView) -> str:
    """The timeline the viewer may read, one line an entry, each labelled.

    An entry that changes the status is labelled with the new status; one that
    does not (a 进展 note, the wait for dispatch) with what kind of entry it is.
    Notes are masked even for the owner: what the chat says is kept in the chat's
    replies and Rasa's tracker, where the owner's own raw numbers do not belong.
    """
    return "\n".join(f"· {_when(e.at)} {entry_label(e)}{_note(e)}" for e in view.timeline)


def entry_label(entry: TimelineEntry) -> str:
    """The new status's name, else the entry's kind in words (进展, 待派单 …); empty when the note says it all."""
    if entry.status_name:
        return entry.status_name
    label = TIMELINE_KIND_NAMES.get(entry.kind, "")
    if label and entry.note and entry.note.startswith(label):
        return ""  # 补充地点：… already names itself
    return label


def _note(entry: TimelineEntry) -> str:
    if not entry.note:
        return ""
    return ("：" if entry_label(entry) else "") + mask_text(entry.note)
