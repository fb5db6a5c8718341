"""What a grid member can do to one ticket (接单, 写进展, 办结, 吹哨), shared by the typed commands and the buttons.

:mod:`actions.gridwork` (typed commands), :mod:`actions.gridwork_notes`
(the note form behind the step buttons) and :mod:`actions.gridwork_query`
(a member's 查询) all offer the same next steps and carry them out through
the same services (:mod:`backend.gridwork.work`).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from rasa_sdk.executor import CollectingDispatcher

from backend.gridwork.work import progress, resolve, take, whistle
from backend.models import GridMember, Ticket
from backend.notifications import take_button
from backend.tickets.lifecycle import STATUS_NAMES

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

logger = logging.getLogger(__name__)

# What each ticket step asks for, and the button that starts it.
NOTE_STEPS = {"progress": ("写进展", "进展情况"), "resolve": ("办结", "办理结果"), "whistle": ("吹哨", "吹哨原因")}
NOTE_LIMIT = 500
# The typed command word of each step, and an example of what follows the number.
TYPED_STEPS = {
    "progress": ("进展", "已联系维修单位，明天上门"),
    "resolve": ("办结", "已修好，居民已确认"),
    "whistle": ("吹哨", "需要职能部门处理"),
}
# A ticket in these states is taken with 接单 before anything else is done with it.
TO_TAKE = ("submitted", "assigned", "reopened")


def note_button(kind: str, number: str) -> dict[str, str]:
    """The button that opens the note form for one step on one ticket (payload ≤ 64 bytes for Telegram)."""
    title = NOTE_STEPS[kind][0]
    return {"title": f"{title} {number}", "payload": f'/grid_note{{"grid_pending": "{kind} {number}"}}'}


def next_step_buttons(ticket: Ticket) -> list[dict[str, str]]:
    """What a member can do next with a ticket they hold."""
    if ticket.status in ("resolved", "closed", "guidance"):
        return []
    return [note_button(kind, str(ticket.number)) for kind in NOTE_STEPS]


def tell_done(dispatcher: CollectingDispatcher, ticket: Ticket) -> None:
    """Tell the member a step is done: the ticket, its status now and what they can do next."""
    dispatcher.utter_message(
        response="utter_grid_done",
        number=str(ticket.number),
        status=STATUS_NAMES[str(ticket.status)],
        buttons=next_step_buttons(ticket),
    )


def ticket_buttons(status: str, number: str) -> list[dict[str, str]]:
    """The buttons under a ticket a member looks at: 接单 while nobody works it, else the next steps."""
    if status in TO_TAKE:
        return [take_button(number)]
    if status in ("resolved", "closed", "guidance"):
        return []
    return [note_button(kind, number) for kind in NOTE_STEPS]


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
