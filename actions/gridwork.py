"""Grid members' commands in the chat: 绑定, 我的待办, 接单, 进展, 办结, 吹哨, 记录志愿, and 查询 of their grid.

Who is asking comes from the channel's sender id, bound to a grid member
with a one-time code; the text never says who someone is. A resident who
sends a member's command is told plainly that it is for grid members.
Every command changes tickets through the same services as the console,
so the resident hears about it through the outbox.

Each command is also a button flow, for a phone in one hand: 我的待办 lists
the tickets (number, place, what in one line, deadline) with a button each
(接单, or 办结 once taken); after 接单 come [写进展] [办结] [吹哨], which open
the note form (:mod:`actions.gridwork_notes`). A typed step without its text
("办结 GZ…") opens the same form, so the member's next message is the
result, not a new report. Whatever follows the number (a whistle's reason
of several sentences) is the step's text, whole.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from typing_extensions import override

from actions.gridwork_notes import (  # noqa: F401 - the note form's actions, importable from here as before
    ActionAskGridNote,
    ActionCancelGridNote,
    ActionGridNote,
    ValidateGridNoteForm,
)
from actions.gridwork_query import show_member_ticket
from actions.gridwork_steps import NOTE_STEPS, TO_TAKE, TYPED_STEPS, note_button, tell_done, work_ticket
from actions.runtime import resident_text, sessions
from actions.ticket_status import answer_ticket_status
from backend.dates import weekday_and_clock
from backend.errors import DomainError
from backend.gridwork.binding import bind, member_for
from backend.gridwork.commands import parse_command
from backend.gridwork.work import Todo, ticket_of_grid, todo
from backend.models import GridMember
from backend.notifications import take_button
from backend.points.earning import log_volunteer
from backend.services.residents import split_sender
from backend.tickets.lifecycle import STATUS_NAMES
from backend.triage.entities import extract

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

logger = logging.getLogger(__name__)

TODO_BUTTONS = 6


def todo_line(row: Todo) -> str:
    """One line of 我的待办: number, place, what in one line, status, deadline (overdue ones marked)."""
    overdue = "⚠超期 " if row.overdue else ""
    return (
        f"{overdue}{row.number} {row.place}\n"
        f"   {row.summary} · {STATUS_NAMES[row.status]} · 时限 {weekday_and_clock(row.deadline)}"
    )


class ActionGridCommand(Action):
    """Carry out a grid member's command, or refuse a resident politely."""

    @override
    def name(self) -> str:
        return "action_grid_command"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        """Parse, check who is asking, act, answer."""
        return await grid_command(dispatcher, tracker, domain)


async def grid_command(dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
    """Carry out the command the latest message gives (or answer what it is when it is no command).

    Shared by ``action_grid_command`` and the status question, which hands a
    bound member's command word over (:func:`actions.gridwork_query.member_answer`).
    """
    text = resident_text(tracker)
    command = parse_command(text)
    channel, sender = split_sender(tracker.sender_id)
    now = datetime.now(timezone.utc)
    if command is None:
        # Read as a command but not one (查询 GZ… looks like 接单 GZ…): answer what it is.
        number = extract(text).get("ticket_no")
        if number and await _member_query(dispatcher, channel, sender, str(number), now):
            return []
        if number or "工单" in text:
            return await answer_ticket_status(dispatcher, tracker, domain)
        dispatcher.utter_message(response="utter_grid_help")
        return []
    try:
        with sessions().begin() as session:
            if command.kind == "bind":
                bound = bind(session=session, channel=channel, sender_id=sender, code=command.text, now=now)
                dispatcher.utter_message(response="utter_grid_bound", name=str(bound.name))
                return []
            member = member_for(session=session, channel=channel, sender_id=sender)
            if member is None:
                dispatcher.utter_message(response="utter_grid_only_members")
                return []
            if command.kind == "todo":
                _todo(dispatcher, session, member, now)
                return []
            if command.kind == "volunteer":
                _volunteer(dispatcher, tracker, session, member, command.text, command.hours, now)
                return []
            if command.kind in NOTE_STEPS and command.number and not command.text.strip():
                # "办结 GZ…" with nothing after it: the next message is the result (the note form asks for it).
                ticket_of_grid(session=session, member=member, number=command.number)
                word, example = TYPED_STEPS[command.kind]
                dispatcher.utter_message(
                    response="utter_grid_note_needed", number=command.number, word=word, example=example
                )
                return [SlotSet("grid_pending", f"{command.kind} {command.number}"), ActiveLoop("grid_note_form")]
            ticket = work_ticket(
                session=session, member=member, kind=command.kind, number=command.number, text=command.text, now=now
            )
            tell_done(dispatcher, ticket)
    except DomainError as exc:
        dispatcher.utter_message(text=str(exc))
    return []


async def _member_query(
    dispatcher: CollectingDispatcher, channel: str, sender: str, number: str, now: datetime
) -> bool:
    """A bound member's 查询: the staff's view of a ticket of their grid; False when the chat is a resident's."""
    try:
        with sessions().begin() as session:
            member = member_for(session=session, channel=channel, sender_id=sender)
            if member is None:
                return False
            show_member_ticket(dispatcher, session=session, member=member, number=number, now=now)
    except DomainError as exc:
        dispatcher.utter_message(text=str(exc))
    return True


def _todo(dispatcher: CollectingDispatcher, session: Session, member: GridMember, now: datetime) -> None:
    rows = todo(session=session, member=member, now=now)
    shown = rows[:TODO_BUTTONS]
    buttons = [take_button(r.number) if r.status in TO_TAKE else note_button("resolve", r.number) for r in shown]
    dispatcher.utter_message(
        response="utter_grid_todo" if rows else "utter_grid_nothing_to_do",
        lines="\n".join(todo_line(r) for r in rows),
        count=len(rows),
        buttons=buttons,
    )


def _volunteer(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    session: Session,
    member: GridMember,
    who: str,
    hours: int | None,
    now: datetime,
) -> None:
    if hours is None:
        dispatcher.utter_message(response="utter_grid_volunteer_how")
        return
    result = log_volunteer(
        session=session,
        member_code=str(member.code),
        reference=who,
        hours=hours,
        log_id=f"chat-{tracker.latest_message.get('message_id') or uuid.uuid4().hex}",
        now=now,
    )
    dispatcher.utter_message(
        response="utter_grid_volunteer_logged", amount=int(result.entry.amount), reason=str(result.entry.reason)
    )
