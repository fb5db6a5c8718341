"""Grid members' commands in the chat: 绑定, 我的待办, 接单, 进展, 办结, 吹哨, 记录志愿.

Who is asking comes from the channel's sender id, bound to a grid member
with a one-time code; the text never says who someone is. A resident who
sends a member's command is told plainly that it is for grid members.
Every command changes tickets through the same services as the console,
so the resident hears about it through the outbox.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.runtime import channel_identity, resident_text, sessions
from actions.ticket_status import ActionTicketStatus
from backend.categories import default_table
from backend.dates import weekday_and_clock
from backend.errors import DomainError
from backend.gridwork.binding import bind, member_for
from backend.gridwork.commands import parse_command
from backend.gridwork.work import progress, resolve, take, todo, whistle
from backend.points.earning import log_volunteer
from backend.tickets.lifecycle import STATUS_NAMES
from backend.triage.entities import extract


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
                    rows = todo(session=session, member=member, now=now)
                    table = default_table()
                    lines = "\n".join(
                        f"{'⚠超期 ' if r.overdue else ''}{r.number} {table.categories[r.category].name}"
                        f" · {STATUS_NAMES[r.status]} · 时限 {weekday_and_clock(r.deadline)}"
                        for r in rows
                    )
                    dispatcher.utter_message(
                        response="utter_grid_todo" if rows else "utter_grid_nothing_to_do",
                        lines=lines,
                        count=len(rows),
                        buttons=[
                            {"title": f"接单 {r.number}", "payload": f"接单 {r.number}"}
                            for r in rows
                            if r.status in ("submitted", "assigned")
                        ][:5],
                    )
                    return []
                if command.kind == "volunteer":
                    if command.hours is None:
                        dispatcher.utter_message(response="utter_grid_volunteer_how")
                        return []
                    result = log_volunteer(
                        session=session,
                        member_code=str(member.code),
                        reference=command.text,
                        hours=command.hours,
                        log_id=f"chat-{tracker.latest_message.get('message_id') or uuid.uuid4().hex}",
                        now=now,
                    )
                    dispatcher.utter_message(
                        response="utter_grid_volunteer_logged",
                        amount=int(result.entry.amount),
                        reason=str(result.entry.reason),
                    )
                    return []
                if command.kind == "take":
                    ticket = take(session=session, member=member, number=command.number, now=now)
                elif command.kind == "progress":
                    ticket = progress(session=session, member=member, number=command.number, note=command.text, now=now)
                elif command.kind == "resolve":
                    ticket = resolve(
                        session=session, member=member, number=command.number, result=command.text, now=now
                    )
                else:
                    ticket = whistle(
                        session=session, member=member, number=command.number, reason=command.text, now=now
                    )
                dispatcher.utter_message(
                    response="utter_grid_done",
                    number=str(ticket.number),
                    status=STATUS_NAMES[str(ticket.status)],
                )
        except DomainError as exc:
            dispatcher.utter_message(text=str(exc))
        return []
