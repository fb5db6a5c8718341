"""The console's conversation log: a list with filters and search, a transcript page, and exports.

Everything is read from Rasa's tracker store through the read-only engine of
:mod:`backend.console.conversations`, and every text shown or exported is
masked. Only admins and operators (``conversations.view``) read it; each
view and export is audited. From a transcript an operator puts a resident
message into the review queue (``conversations.flag``).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import date
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from backend import labels
from backend.console import review_queue
from backend.console.conversations import Filters, export_rows, list_conversations, transcript
from backend.console.senders import CHANNELS, sender_label
from backend.console.tracker_access import TrackerUnavailable, read_only_engine
from backend.dates import weekday_and_clock
from backend.errors import DomainError
from backend.models import Resident, ReviewItem, Ticket
from backend.models.review import REASONS, STATUSES
from backend.privacy import mask_text
from backend.services.residents import split_sender
from backend.web.console.auth import Staff, render
from backend.web.console.staff_dependency import staff_posting, staff_with
from backend.web.deps import Console, ConsoleContext

router = APIRouter()

PER_PAGE = 50
EXPORT_FIELDS = ["conversation", "channel", "event_id", "time", "speaker", "text", "intent", "confidence",
                 "fallback", "low_confidence"]  # fmt: skip


def tracker_of(console: ConsoleContext) -> Any:
    """The read-only engine on this app's tracker store."""
    return read_only_engine(console.settings.tracker_store_url)


def threshold_of(console: ConsoleContext) -> float:
    """Below this confidence a message counts as unsure."""
    return float(console.settings.review_confidence_threshold)


def intent_names() -> dict[str, str]:
    """How an intent is shown: by its Chinese label (:mod:`backend.labels`), a request category by its name."""
    return labels.intent_names()


def _filters(channel: str, since: str, until: str, flagged: str, has_ticket: str, q: str) -> tuple[Filters, str | None]:
    error = None

    def day(value: str) -> date | None:
        nonlocal error
        if not value:
            return None
        try:
            return date.fromisoformat(value)
        except ValueError:
            error = "日期格式应为 2026-11-22，这个条件没有用上。"
            return None

    filters = Filters(
        channel=channel if channel in CHANNELS else "", since=day(since), until=day(until),
        flagged=bool(flagged), has_ticket=bool(has_ticket), q=q.strip()[:100],
    )  # fmt: skip
    return filters, error


def rasa_sender(resident_channel: str, resident_sender: str) -> str:
    """The tracker's sender id of a resident (the inverse of :func:`split_sender`)."""
    return resident_sender if resident_channel == "rest" else f"{resident_channel}:{resident_sender}"


def ticket_senders(db: Session) -> set[str]:
    """The sender ids of every resident who has filed a ticket."""
    rows = db.execute(select(Resident.channel, Resident.sender_id).join(Ticket, Ticket.resident_id == Resident.id))
    return {rasa_sender(c, s) for c, s in rows}


def tickets_of(db: Session, senders: list[str]) -> dict[str, list[str]]:
    """The ticket numbers of the residents behind these sender ids."""
    if not senders:
        return {}
    pairs = [and_(Resident.channel == c, Resident.sender_id == s) for c, s in map(split_sender, senders)]
    rows = db.execute(
        select(Resident.channel, Resident.sender_id, Ticket.number)
        .join(Ticket, Ticket.resident_id == Resident.id)
        .where(or_(*pairs))
        .order_by(Ticket.id)
    )
    out: dict[str, list[str]] = {}
    for channel, sender, number in rows:
        out.setdefault(rasa_sender(channel, sender), []).append(number)
    return out


def queued_senders(db: Session) -> set[str]:
    """Senders with a message in the review queue."""
    return set(db.scalars(select(ReviewItem.sender_id).distinct()))


@router.get("/console/conversations", response_class=HTMLResponse, tags=["console"])
def conversations(
    console: Console,
    me: Annotated[Staff, staff_with("conversations.view")],
    channel: str = "",
    since: str = "",
    until: str = "",
    flagged: str = "",
    has_ticket: str = "",
    q: str = "",
    page: int = 1,
) -> HTMLResponse:
    """The conversations, newest first, with their flags and tickets."""
    filters, error = _filters(channel, since, until, flagged, has_ticket, q)
    page = max(1, page)
    me.audit("conversations.view", target="list", page=page, **_audit_filters(filters))
    rows: list[Any] = []
    more = False
    try:
        with me.db.begin_nested():  # unsure messages since the last scan count as flagged at once
            review_queue.scan(session=me.db, tracker=tracker_of(console), threshold=threshold_of(console))
        rows, more = list_conversations(
            tracker_of(console), filters, threshold=threshold_of(console), page=page, per_page=PER_PAGE,
            ticket_senders=ticket_senders(me.db) if filters.has_ticket else None,
            flagged_senders=queued_senders(me.db),
        )  # fmt: skip
    except TrackerUnavailable as exc:
        error = str(exc)
    tickets = tickets_of(me.db, [r.sender_id for r in rows])
    for row in rows:
        row.tickets = tickets.get(row.sender_id, [])
    return render(
        console, "console_conversations.html", me, rows=rows, more=more, page=page, filters=filters,
        channels=labels.CHANNELS, query=filters.query_string(), when=weekday_and_clock, error=error, quote=quote,
        label=sender_label,
    )  # fmt: skip


def _audit_filters(filters: Filters) -> dict[str, Any]:
    """The filters as the audit trail keeps them (a searched phone number masked)."""
    return {
        "channel": filters.channel,
        "since": filters.since.isoformat() if filters.since else "",
        "until": filters.until.isoformat() if filters.until else "",
        "flagged": filters.flagged,
        "has_ticket": filters.has_ticket,
        "q": mask_text(filters.q),
    }


def _export(console: ConsoleContext, kind: str, filters: Filters, me: Staff) -> Iterator[dict[str, Any]]:
    """Check the store can be read, audit the export, and hand back the rows (read as they are sent)."""
    engine, threshold = tracker_of(console), threshold_of(console)
    senders = ticket_senders(me.db) if filters.has_ticket else None
    flagged = queued_senders(me.db)
    list_conversations(engine, filters, threshold=threshold, per_page=1, ticket_senders=senders,
                       flagged_senders=flagged)  # fmt: skip
    me.audit("conversations.export", target=kind, **_audit_filters(filters))
    return export_rows(engine, filters, threshold=threshold, ticket_senders=senders, flagged_senders=flagged)


@router.get("/console/conversations/export.jsonl", tags=["console"])
def export_jsonl(
    console: Console, me: Annotated[Staff, staff_with("conversations.view")], channel: str = "",
    since: str = "", until: str = "", flagged: str = "", has_ticket: str = "", q: str = "",
) -> Response:  # fmt: skip
    """The selected conversations' messages, one JSON object a line, masked."""
    filters, _ = _filters(channel, since, until, flagged, has_ticket, q)
    try:
        rows = _export(console, "jsonl", filters, me)
    except TrackerUnavailable as exc:
        return _unavailable(console, me, exc)
    lines = (json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    return StreamingResponse(lines, media_type="application/x-ndjson; charset=utf-8", headers=_attachment("jsonl"))


def _cell(value: Any) -> Any:
    """A CSV cell a spreadsheet will not run as a formula."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


@router.get("/console/conversations/export.csv", tags=["console"])
def export_csv(
    console: Console, me: Annotated[Staff, staff_with("conversations.view")], channel: str = "",
    since: str = "", until: str = "", flagged: str = "", has_ticket: str = "", q: str = "",
) -> Response:  # fmt: skip
    """The selected conversations' messages as CSV (UTF-8 with a BOM, for spreadsheets), masked."""
    filters, _ = _filters(channel, since, until, flagged, has_ticket, q)
    try:
        rows = _export(console, "csv", filters, me)
    except TrackerUnavailable as exc:
        return _unavailable(console, me, exc)

    def lines() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=EXPORT_FIELDS)
        buffer.write("\ufeff")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _cell(v) for k, v in row.items()})
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
        yield buffer.getvalue()

    return StreamingResponse(lines(), media_type="text/csv; charset=utf-8", headers=_attachment("csv"))


def _attachment(ext: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="conversations.{ext}"', "Cache-Control": "no-store"}


def _unavailable(console: ConsoleContext, me: Staff, exc: Exception) -> HTMLResponse:
    page = render(console, "console_refused.html", me, why=str(exc))
    page.status_code = 503
    return page


def _transcript_page(console: ConsoleContext, me: Staff, sender: str, **extra: Any) -> HTMLResponse:
    error = extra.pop("error", None)
    turns: list[Any] = []
    try:
        turns = transcript(tracker_of(console), sender, threshold=threshold_of(console))
    except TrackerUnavailable as exc:
        error = str(exc)
    missing = not turns and error is None
    if missing:
        error = "没有这段对话。"
    queued = {item.event_id: item for item in me.db.scalars(select(ReviewItem).where(ReviewItem.sender_id == sender))}
    channel, _ = split_sender(sender)
    tickets = tickets_of(me.db, [sender]).get(sender, [])
    page = render(
        console, "console_transcript.html", me, sender=sender, shown=sender_label(sender),
        channel=labels.channel(channel), turns=turns, queued=queued, tickets=tickets, names=intent_names(),
        reasons=REASONS, statuses=STATUSES, when=weekday_and_clock, error=error, **extra,
    )  # fmt: skip
    if missing:
        page.status_code = 404
    return page


@router.get("/console/conversations/{sender}", response_class=HTMLResponse, tags=["console"])
def conversation(
    console: Console, me: Annotated[Staff, staff_with("conversations.view")], sender: str, done: str = ""
) -> HTMLResponse:
    """One conversation: each resident message with what the NLU made of it, and the bot's answers."""
    me.audit("conversations.transcript", target=sender)
    return _transcript_page(console, me, sender, done=done or None)


@router.post("/console/conversations/{sender}/flag", tags=["console"])
def flag_message(
    console: Console, me: Annotated[Staff, staff_posting("conversations.flag")], sender: str, event_id: int = Form(0)
) -> Response:
    """Put one resident message of this conversation into the review queue."""
    try:
        with me.db.begin_nested():
            item, new = review_queue.flag(
                session=me.db, tracker=tracker_of(console), sender=sender, event_id=event_id, account=me.account
            )
    except (DomainError, TrackerUnavailable) as exc:
        me.audit("conversations.flag", target=sender, outcome="failed", event_id=event_id, why=str(exc))
        page = _transcript_page(console, me, sender, error=str(exc))
        page.status_code = 400
        return page
    me.audit("conversations.flag", target=sender, event_id=event_id, item=item.id)
    done = "已放进待标注队列" if new else "这条已经在待标注队列里了"
    return RedirectResponse(
        f"/console/conversations/{quote(sender, safe='')}?done={quote(done)}#m{event_id}", status_code=303
    )
