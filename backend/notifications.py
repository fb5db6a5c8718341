"""Tell residents when their tickets change: queue in the outbox with the change, deliver from the worker.

:func:`queue_ticket_event` is called inside the transaction that changes a
ticket's status, for the resident who filed it and everyone following it.
A follower reads the note only as :mod:`backend.tickets.visibility` lets a
follower read it: a staff note, masked; never the words of the resident who
filed the ticket (a rating comment, say).
:func:`deliver_due` runs in the worker: it claims due rows (a short lease,
so two workers never send the same row at once), sends each on the
resident's channel, and records success, or schedules a retry with
exponential backoff (a channel's ``retry_after`` is honoured). After
:data:`MAX_ATTEMPTS` failures a row is marked failed and kept for staff.

:func:`queue_dispatch_notice` tells a grid member a ticket was dispatched
to them, in every chat bound to them (:class:`~backend.models.gridwork.MemberLink`):
where, what in one line, until when, and a 接单 button. The row is
addressed to that chat's own identity, so the same worker delivers it; a
member bound to no chat gets no row.

Both channels deliver into the resident's conversation (:func:`chat_sender`):
the web page shows the reply now or on the next visit; the Telegram bridge
pushes it through the Bot API with 429/500 handling and records when
Telegram accepted it (``chat_replies.delivered_at``). Rows of a channel with
no sender configured stay pending, not lost.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from backend.categories import default_table
from backend.dates import weekday_and_clock
from backend.gridwork.summary import one_line, place_of
from backend.messages import MEMBER_DISPATCH_NOTICE, MEMBER_DISPATCH_URGENT, TIMELINE_KIND_NAMES
from backend.models import Resident, Ticket, TicketEvent, TicketFollower
from backend.models.base import utcnow
from backend.models.gridwork import MemberLink
from backend.models.notifications import FAILED, PENDING, SENT, Notification
from backend.services.chat import new_reply
from backend.services.residents import find_resident, get_or_create_resident
from backend.tickets.lifecycle import STATUS_NAMES
from backend.tickets.ratings import rating_buttons
from backend.tickets.visibility import follower_note

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
RATING_QUESTION = "\n请为这次办理打个分（评单），不回复的话 3 天后按满意处理："
LEASE = timedelta(seconds=60)
FIRST_BACKOFF = timedelta(seconds=15)
MAX_BACKOFF = timedelta(hours=1)


class DeliveryFailed(Exception):
    """A channel could not deliver now; ``retry_after`` (seconds) when the channel said when to retry."""

    def __init__(self, reason: str, retry_after: float | None = None):
        super().__init__(reason)
        self.retry_after = retry_after


Send = Callable[[str, str, list[dict[str, str]]], Awaitable[None]]


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
    """Queue the event for the ticket's resident and followers; returns how many rows were queued."""
    session.flush()  # the event needs its id for the key
    follower_ids = session.scalars(select(TicketFollower.resident_id).filter_by(ticket_id=ticket.id)).all()
    text = ticket_event_text(ticket, event)
    follower_text = ticket_event_text(ticket, event, follower=True)
    queued = 0
    for resident_id in [ticket.resident_id, *follower_ids]:
        resident = session.get(Resident, resident_id)
        if resident is None:
            continue
        owner = resident_id == ticket.resident_id
        asks_rating = event.to_status == "resolved" and owner
        session.add(
            Notification(
                key=f"ticket-event:{event.id}:resident:{resident.id}",
                resident_id=resident.id,
                ticket_id=ticket.id,
                event_id=event.id,
                channel=str(resident.channel),
                recipient=str(resident.sender_id),
                text=(text if owner else follower_text) + (RATING_QUESTION if asks_rating else ""),
                buttons=rating_buttons(str(ticket.number)) if asks_rating else [],
                status=PENDING,
                next_attempt_at=now,
                created_at=now,
            )
        )
        queued += 1
    session.flush()
    return queued


def take_button(number: str) -> dict[str, str]:
    """The 接单 button: it sends what a member types to take the ticket (payload ≤ 64 bytes for Telegram)."""
    return {"title": f"接单 {number}", "payload": f"接单 {number}"}


def member_dispatch_text(*, session: Session, ticket: Ticket) -> str:
    """What the member reads of a ticket dispatched to them: number, category, place, one line, deadline."""
    category = default_table().categories.get(str(ticket.category))
    return MEMBER_DISPATCH_NOTICE.format(
        urgent=MEMBER_DISPATCH_URGENT if ticket.urgency in ("urgent", "emergency") else "",
        number=ticket.number,
        category=category.name if category else ticket.category,
        place=place_of(session=session, ticket=ticket),
        summary=one_line(str(ticket.description or "")),
        deadline=weekday_and_clock(ticket.deadline),
    )


def _chat_identity(session: Session, link: MemberLink) -> Resident:
    """The row that stands for the member's chat in the outbox (the one the chat itself uses; created if new)."""
    channel, sender = str(link.channel), str(link.sender_id)
    found = find_resident(session=session, channel=channel, sender_id=sender)
    if found is not None:
        return found
    try:
        with session.begin_nested():  # the chat may be creating it at this moment
            return get_or_create_resident(session=session, channel=channel, sender_id=sender)
    except IntegrityError:
        found = find_resident(session=session, channel=channel, sender_id=sender)
        assert found is not None
        return found


def queue_dispatch_notice(*, session: Session, ticket: Ticket, event: TicketEvent, now: datetime) -> int:
    """Queue the news of a dispatch for the ticket's grid member, in each chat bound to them; rows queued.

    Called in the transaction that dispatches the ticket (``event`` is the
    dispatch on its timeline). A member bound to no chat gets nothing, and
    nothing fails. The button takes the ticket as the member's 接单 does.
    """
    if ticket.assignee_id is None:
        return 0
    links = session.scalars(select(MemberLink).filter_by(member_id=ticket.assignee_id).order_by(MemberLink.id)).all()
    if not links:
        return 0
    session.flush()  # the event needs its id for the key
    text = member_dispatch_text(session=session, ticket=ticket)
    for link in links:
        chat = _chat_identity(session, link)
        session.add(
            Notification(
                key=f"member-dispatch:{event.id}:link:{link.id}",
                resident_id=chat.id,
                ticket_id=ticket.id,
                event_id=event.id,
                channel=str(link.channel),
                recipient=str(link.sender_id),
                text=text,
                buttons=[take_button(str(ticket.number))],
                status=PENDING,
                next_attempt_at=now,
                created_at=now,
            )
        )
    session.flush()
    logger.info("dispatch of %s told to grid member #%s in %d chat(s)", ticket.number, ticket.assignee_id, len(links))
    return len(links)


def _claim(session: Session, notification_id: int, now: datetime) -> bool:
    result = session.execute(
        update(Notification)
        .where(
            Notification.id == notification_id,
            Notification.status == PENDING,
            Notification.next_attempt_at <= now,
        )
        .values(next_attempt_at=now + LEASE, attempts=Notification.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def backoff(attempts: int, retry_after: float | None = None) -> timedelta:
    """When to try again after ``attempts`` failures: the channel's word, else 15 s doubling, at most 1 h."""
    if retry_after is not None:
        return timedelta(seconds=max(1.0, retry_after))
    return min(MAX_BACKOFF, FIRST_BACKOFF * (2 ** max(0, attempts - 1)))


@dataclass
class DeliveryRound:
    """What one pass did."""

    sent: int = 0
    retried: int = 0
    failed: int = 0


async def deliver_due(
    *, sessions: sessionmaker[Session], senders: Mapping[str, Send], now: datetime | None = None, limit: int = 100
) -> DeliveryRound:
    """Send every due notification whose channel has a sender; one pass."""
    now = now or utcnow()
    report = DeliveryRound()
    with sessions() as session:
        due = session.scalars(
            select(Notification.id)
            .where(
                Notification.status == PENDING,
                Notification.next_attempt_at <= now,
                Notification.channel.in_(list(senders)),
            )
            .order_by(Notification.id)
            .limit(limit)
        ).all()
    for notification_id in due:
        with sessions.begin() as session:
            if not _claim(session, notification_id, now):
                continue  # another worker has it
            row = session.get(Notification, notification_id)
            assert row is not None
            channel, recipient, text = str(row.channel), str(row.recipient), str(row.text)
            buttons, attempts = list(row.buttons or []), int(row.attempts)
        try:
            await senders[channel](recipient, text, buttons)
        except DeliveryFailed as exc:
            with sessions.begin() as session:
                row = session.get(Notification, notification_id)
                assert row is not None
                row.last_error = str(exc)[:200]
                if attempts >= MAX_ATTEMPTS:
                    row.status = FAILED
                    report.failed += 1
                    logger.warning("notification %s failed for good: %s", notification_id, exc)
                else:
                    row.next_attempt_at = now + backoff(attempts, exc.retry_after)
                    report.retried += 1
            continue
        with sessions.begin() as session:
            row = session.get(Notification, notification_id)
            assert row is not None
            row.status = SENT
            row.sent_at = utcnow()
            row.last_error = None
        report.sent += 1
    return report


def chat_sender(sessions: sessionmaker[Session], channel: str) -> Send:
    """Deliver into the resident's conversation on ``channel``: a reply the chat shows.

    On the web the page shows it at once if open, and in the history on the
    next visit. On Telegram the bridge pushes it through the Bot API with the
    conversation's own replies, so one process talks to Telegram, under one
    rate limit, in one order per chat (:mod:`bot.outgoing`).
    """

    async def send(recipient: str, text: str, buttons: list[dict[str, str]]) -> None:
        with sessions.begin() as session:
            payload: dict[str, Any] = {"text": text, "buttons": buttons} if buttons else {"text": text}
            session.add(new_reply(sender=f"{channel}:{recipient}", payload=payload, now=utcnow()))

    return send
