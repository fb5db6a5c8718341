"""A grid member's 查询 GZ…: a ticket of their grid as the console shows it to them, with what to do next.

A member asks about the tickets they work, not the ones they filed, so the
chat behind a bound member gets the staff's view
(:func:`backend.gridwork.views.member_view`), never the resident's
owner/follower view; a ticket of another grid gets the answer a number that
does not exist gets. :func:`member_answer` is how the status question
(``action_ticket_status``) hands a member's message over: a command word
first (吹哨 GZ… with a long reason the classifier took for a question) is the
command; a member's ticket number is that ticket's staff view.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.gridwork_steps import ticket_buttons
from actions.runtime import resident_text, sessions
from backend.dates import clock, day, weekday_and_clock
from backend.errors import DomainError
from backend.gridwork.binding import member_for
from backend.gridwork.commands import parse_command
from backend.gridwork.views import MemberTicketView, member_view
from backend.models import GridMember
from backend.services.residents import split_sender
from backend.triage.entities import extract

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

logger = logging.getLogger(__name__)

TIMELINE_LINES = 12
# A question after "进展 GZ…" (怎么样了？到哪一步了): the member asks, they are not writing a note.
QUESTION = re.compile(r"^(怎么样|如何|咋样|到哪|到什么|有没有|有吗|呢|了吗)|[?？吗呢]$")


def timeline_lines(view: MemberTicketView) -> str:
    """The timeline as staff read it, one line an entry, the newest last (the last few when it is long)."""
    entries = view.timeline[-TIMELINE_LINES:]
    lines = [f"· {day(e.at)} {clock(e.at)} {e.label}" + (f"：{e.note}" if e.note else "") for e in entries]
    if len(view.timeline) > len(entries):
        lines.insert(0, f"（前面还有 {len(view.timeline) - len(entries)} 条，完整经过在工作台）")
    return "\n".join(lines) or "（暂无记录）"


def show_member_ticket(
    dispatcher: CollectingDispatcher, *, session: Session, member: GridMember, number: str | None, now: datetime
) -> None:
    """One ticket of the member's grid with its timeline and the buttons for the next step.

    Raises:
        NotFound: no such ticket in the member's grid (another grid's included).
    """
    view = member_view(session=session, member=member, number=number, now=now)
    dispatcher.utter_message(
        response="utter_grid_ticket_detail",
        number=view.number,
        category_name=view.category_name,
        status=view.status_name,
        flags=("，紧急" if view.urgent else "") + ("，已超期" if view.overdue else ""),
        place=view.place,
        description=view.description,
        phone=view.phone,
        deadline=weekday_and_clock(view.deadline),
        handler="您" if view.assigned_to_me else "本网格",
        timeline=timeline_lines(view),
        buttons=ticket_buttons(view.status, view.number),
    )


async def member_answer(
    dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
) -> list[EventType] | None:
    """Answer a status question the grid member's way; ``None`` when it is a resident's to answer.

    Only a chat bound to a grid member is answered here. Its message that
    starts with a command word is that command (吹哨 GZ… and its reason),
    unless it is "进展 GZ… 怎么样了？", a question; a message with a ticket
    number gets the staff's view of that ticket of the member's grid.
    Anything else (a member asking about their own reports as a resident,
    "我的工单") and every resident's message are left to the caller.
    """
    text = resident_text(tracker)
    command = parse_command(text)
    number = extract(text).get("ticket_no")
    if command is None and not number:
        return None
    asks = command is None or _asks(command.kind, command.text)
    if asks and not number:
        return None  # "进展怎么样了" without a number: the member's own reports, as a resident's
    channel, sender = split_sender(tracker.sender_id)
    try:
        with sessions().begin() as session:
            member = member_for(session=session, channel=channel, sender_id=sender)
            if member is None:
                return None  # a resident's status question ("进展怎么样了 GZ…") stays one
            if asks:
                now = datetime.now(timezone.utc)
                show_member_ticket(dispatcher, session=session, member=member, number=str(number), now=now)
                return []
    except DomainError as exc:
        dispatcher.utter_message(text=str(exc))
        return []
    from actions.gridwork import grid_command  # imported here: the command reads this module too

    return await grid_command(dispatcher, tracker, domain)


def _asks(kind: str, text: str) -> bool:
    """Whether a member's "进展 GZ… 怎么样了？" asks about the ticket rather than writing a progress note."""
    return kind == "progress" and bool(QUESTION.search(text))
