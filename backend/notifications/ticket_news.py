"""News of a ticket for the resident who filed it and everyone following it.

:func:`queue_ticket_event` is called inside the transaction that changes a
ticket's status or notes its progress. A follower reads the note only as
:mod:`backend.tickets.visibility` lets a follower read it: a staff note,
masked; never the words of the resident who filed the ticket (a rating
comment, say).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.dates import weekday_and_clock
from backend.messages import TIMELINE_KIND_NAMES
from backend.models import Resident, Ticket, TicketEvent, TicketFollower
from backend.notifications.outbox import tell
from backend.tickets.lifecycle import STATUS_NAMES
from backend.tickets.ratings import rating_buttons
from backend.tickets.visibility import follower_note

RATING_QUESTION = "\n请为这次办理打个分（评单），不回复的话 3 天后按满意处理："


def ticket_event_text(ticket: Ticket, event: TicketEvent, *, follower: bool = False) -> str:
    """What the resident reads: the ticket, what changed, the note, and the deadline.

    The resident who filed the ticket reads about "您提交的工单", a ``follower``
    (someone who did not file it) about "您关注的工单", with the note as a
    follower may read it (:func:`backend.tickets.visibility.follower_note`).
    A progress note (进展) changes no status: it is labelled 进展, with the
    status the ticket stays in.
    """
    whose = "您关注的工单" if follower else "您提交的工单"
    shown = follower_note(event) if follower else event.note
    if event.to_status:
        status = STATUS_NAMES.get(str(event.to_status), "")
        head = f"{whose} {ticket.number} 有新进展：{status}。"
        note = f"\n说明：{shown}" if shown else ""
    else:
        status = STATUS_NAMES.get(str(ticket.status), "")
        head = f"{whose} {ticket.number} 有新进展（当前状态：{status}）。"
        note = f"\n{TIMELINE_KIND_NAMES.get(str(event.kind), '说明')}：{shown}" if shown else ""
    return f"{head}{note}\n处理时限：{weekday_and_clock(ticket.deadline)} 前。说“查询 {ticket.number}”可以看完整经过。"


def queue_ticket_event(*, session: Session, ticket: Ticket, event: TicketEvent, now: datetime) -> int:
    """Tell the ticket's resident and followers of ``event`` in their chats; how many were told.

    The resident who filed it is asked for a rating when the ticket is resolved.
    """
    follower_ids = session.scalars(select(TicketFollower.resident_id).filter_by(ticket_id=ticket.id)).all()
    text = ticket_event_text(ticket, event)
    follower_text = ticket_event_text(ticket, event, follower=True)
    told = 0
    for resident_id in [ticket.resident_id, *follower_ids]:
        resident = session.get(Resident, resident_id)
        if resident is None:
            continue
        owner = resident_id == ticket.resident_id
        asks_rating = event.to_status == "resolved" and owner
        tell(
            session=session,
            channel=str(resident.channel),
            recipient=str(resident.sender_id),
            text=(text if owner else follower_text) + (RATING_QUESTION if asks_rating else ""),
            buttons=rating_buttons(str(ticket.number)) if asks_rating else [],
            now=now,
        )
        told += 1
    session.flush()
    return told
