"""Grid members' commands in the chat: 绑定, 我的待办, 接单, 进展, 办结, 吹哨, 记录志愿.

Who is asking comes from the channel's sender id, bound to a grid member
with a one-time code; the text never says who someone is. A resident who
sends a member's command is told plainly that it is for grid members.
Every command changes tickets through the same services as the console,
so the resident hears about it through the outbox.

Each command is also a button flow, for a phone in one hand: 我的待办 lists
the tickets with a button each (接单, or 办结 once taken); after 接单 come
[写进展] [办结] [吹哨]. Those buttons send ``/grid_note{"grid_pending":
"resolve GZ…"}``, which opens ``grid_note_form``: it asks for the one
thing the step needs (the progress note, the result, the reason), and
:class:`ActionGridNote` carries it out exactly as the typed command would.
A typed step without its text ("办结 GZ…") opens the same form, so the
member's next message is the result, not a new report.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.orm import Session

from actions.runtime import channel_identity, resident_text, sessions
from actions.ticket_status import ActionTicketStatus
from backend.categories import default_table
from backend.dates import weekday_and_clock
from backend.errors import DomainError
from backend.gridwork.binding import bind, member_for
from backend.gridwork.commands import parse_command
from backend.gridwork.work import progress, resolve, take, ticket_of_grid, todo, whistle
from backend.models import GridMember, Ticket
from backend.points.earning import log_volunteer
from backend.tickets.lifecycle import STATUS_NAMES
from backend.triage.entities import extract

# What each ticket step asks for, and the button that starts it.
NOTE_STEPS = {"progress": ("写进展", "进展情况"), "resolve": ("办结", "办理结果"), "whistle": ("吹哨", "吹哨原因")}
NOTE_LIMIT = 500
# The typed command word of each step, and an example of what follows the number.
TYPED_STEPS = {
    "progress": ("进展", "已联系维修单位，明天上门"),
    "resolve": ("办结", "已修好，居民已确认"),
    "whistle": ("吹哨", "需要职能部门处理"),
}


def note_button(kind: str, number: str) -> dict[str, str]:
    """The button that opens the note form for one step on one ticket (payload ≤ 64 bytes for Telegram)."""
    title = NOTE_STEPS[kind][0]
    return {"title": f"{title} {number}", "payload": f'/grid_note{{"grid_pending": "{kind} {number}"}}'}


def next_step_buttons(ticket: Ticket) -> list[dict[str, str]]:
    """What a member can do next with a ticket they hold."""
    if ticket.status in ("resolved", "closed"):
        return []
    return [note_button(kind, str(ticket.number)) for kind in NOTE_STEPS]


def work_ticket(
    *, session: Session, member: GridMember, kind: str, number: str | None, text: str, now: datetime
) -> Ticket:
    """接单 / 进展 / 办结 / 吹哨 on one ticket through the ticket services (their rules and messages).

    Raises:
        DomainError: not the member's grid, not allowed from its status, a result missing …
    """
    if kind == "take":
        return take(session=session, member=member, number=number, now=now)
    if kind == "progress":
        return progress(session=session, member=member, number=number, note=text, now=now)
    if kind == "resolve":
        return resolve(session=session, member=member, number=number, result=text, now=now)
    return whistle(session=session, member=member, number=number, reason=text, now=now)


class ActionGridCommand(Action):
    """Carry out a grid member's command, or refuse a resident politely."""

    def name(self) -> str:
        """The action's name in the domain."""
        return "action_grid_command"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        """Parse, check who is asking, act, answer."""
        text = resident_text(tracker)
        command = parse_command(text)
        if command is None:
            # Read as a command but not one (查询 GZ… looks like 接单 GZ…): answer what it is.
            if extract(text).get("ticket_no") or "工单" in text:
                return await ActionTicketStatus().run(dispatcher, tracker, domain)
            dispatcher.utter_message(response="utter_grid_help")
            return []
        channel, sender = channel_identity(tracker.sender_id)
        now = datetime.now(timezone.utc)
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
                    self._todo(dispatcher, session, member, now)
                    return []
                if command.kind == "volunteer":
                    self._volunteer(dispatcher, tracker, session, member, command.text, command.hours, now)
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
                dispatcher.utter_message(
                    response="utter_grid_done",
                    number=str(ticket.number),
                    status=STATUS_NAMES[str(ticket.status)],
                    buttons=next_step_buttons(ticket),
                )
        except DomainError as exc:
            dispatcher.utter_message(text=str(exc))
        return []

    @staticmethod
    def _todo(dispatcher: CollectingDispatcher, session: Session, member: GridMember, now: datetime) -> None:
        rows = todo(session=session, member=member, now=now)
        table = default_table()
        lines = "\n".join(
            f"{'⚠超期 ' if r.overdue else ''}{r.number} {table.categories[r.category].name}"
            f" · {STATUS_NAMES[r.status]} · 时限 {weekday_and_clock(r.deadline)}"
            for r in rows
        )
        buttons = [
            {"title": f"接单 {r.number}", "payload": f"接单 {r.number}"}
            if r.status in ("submitted", "assigned")
            else note_button("resolve", r.number)
            for r in rows
        ][:6]
        dispatcher.utter_message(
            response="utter_grid_todo" if rows else "utter_grid_nothing_to_do",
            lines=lines,
            count=len(rows),
            buttons=buttons,
        )

    @staticmethod
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


def pending_step(tracker: Tracker) -> tuple[str, str] | None:
    """The (step, ticket number) a note-form button named, or None when it named nothing valid."""
    kind, _, number = str(tracker.get_slot("grid_pending") or "").partition(" ")
    ticket = extract(number).get("ticket_no")
    return (kind, str(ticket)) if kind in NOTE_STEPS and ticket else None


class ActionAskGridNote(Action):
    """Ask for the note the pressed button's step needs (进展情况 / 办理结果 / 吹哨原因)."""

    def name(self) -> str:
        """The form's question for ``grid_note``."""
        return "action_ask_grid_note"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        """Say what to write, for which ticket."""
        step = pending_step(tracker)
        what, number = (NOTE_STEPS[step[0]][1], step[1]) if step else ("内容", "")
        dispatcher.utter_message(response="utter_ask_grid_note", what=what, number=number)
        return []


class ValidateGridNoteForm(FormValidationAction):
    """The note is the member's own words: not empty, not a novel."""

    def name(self) -> str:
        """The form's validation action."""
        return "validate_grid_note_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        """Ask for the note only when a button named the step and the ticket; otherwise finish at once."""
        return domain_slots if pending_step(tracker) else []

    async def validate_grid_note(
        self, slot_value: object, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, object]:
        """Keep a note of 1–500 characters; otherwise ask again."""
        note = str(slot_value or "").strip()
        if not note or note.startswith("/"):
            return {"grid_note": None}
        if len(note) > NOTE_LIMIT:
            dispatcher.utter_message(response="utter_grid_note_too_long", limit=NOTE_LIMIT)
            return {"grid_note": None}
        return {"grid_note": note}


class ActionGridNote(Action):
    """Carry out the step the button opened, with the note the form collected, then forget both."""

    def name(self) -> str:
        """The form's submit action."""
        return "action_grid_note"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        """Check who is asking, do the step, answer as the typed command would."""
        forget: list[EventType] = [SlotSet("grid_pending", None), SlotSet("grid_note", None)]
        step = pending_step(tracker)
        if step is None:
            dispatcher.utter_message(response="utter_grid_help")
            return forget
        channel, sender = channel_identity(tracker.sender_id)
        now = datetime.now(timezone.utc)
        try:
            with sessions().begin() as session:
                member = member_for(session=session, channel=channel, sender_id=sender)
                if member is None:
                    dispatcher.utter_message(response="utter_grid_only_members")
                    return forget
                note = str(tracker.get_slot("grid_note") or "")
                ticket = work_ticket(session=session, member=member, kind=step[0], number=step[1], text=note, now=now)
                dispatcher.utter_message(
                    response="utter_grid_done",
                    number=str(ticket.number),
                    status=STATUS_NAMES[str(ticket.status)],
                    buttons=next_step_buttons(ticket),
                )
        except DomainError as exc:
            dispatcher.utter_message(text=str(exc))
        return forget


class ActionCancelGridNote(Action):
    """取消 while the note form asks: nothing is done to the ticket."""

    def name(self) -> str:
        """The form's cancel action."""
        return "action_cancel_grid_note"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        """Say so and forget the step."""
        dispatcher.utter_message(response="utter_grid_note_cancelled")
        return [
            ActiveLoop(None),
            SlotSet("requested_slot", None),
            SlotSet("grid_pending", None),
            SlotSet("grid_note", None),
        ]
