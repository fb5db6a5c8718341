"""The console's review queue: unsure and flagged resident messages, and the admin's label for each.

Opening the page first scans the tracker store for new unsure messages (the
worker does the same every minute). Admins and operators see the queue;
only an admin (``review.label``) labels: an intent of the domain, written
to the review file (``REVIEW_NLU_FILE``), or "ignore", which writes nothing.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, HTTPException
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func, select

from backend import labels
from backend.categories import default_table
from backend.console import review_queue
from backend.console.review_file import ReviewFileError
from backend.console.senders import sender_label
from backend.console.tracker_access import TrackerUnavailable
from backend.dates import weekday_and_clock
from backend.errors import DomainError
from backend.models import ReviewItem
from backend.models.review import REASONS, STATUSES
from backend.web.console.auth import Staff, render
from backend.web.console.conversations import intent_names, threshold_of, tracker_of
from backend.web.console.staff_dependency import staff_posting, staff_with
from backend.web.deps import Console, ConsoleContext

logger = logging.getLogger(__name__)
router = APIRouter()

PER_PAGE = 50


def label_choices() -> list[tuple[str, str]]:
    """The intents an item may be labelled with, by their Chinese labels: request categories first, then the rest."""
    table = default_table()
    intents = review_queue.domain_intents()
    categories = [(code, c.name) for code, c in table.categories.items() if code in intents]
    others = sorted((code, labels.intent(code)) for code in intents if code not in table.categories)
    return categories + others


def _page(console: ConsoleContext, me: Staff, status: str, reason: str, page: int, **extra: Any) -> HTMLResponse:
    query = select(ReviewItem)
    if status in STATUSES:
        query = query.where(ReviewItem.status == status)
    if reason in REASONS:
        query = query.where(ReviewItem.reason == reason)
    total = me.db.scalar(select(func.count()).select_from(query.subquery())) or 0
    items = me.db.scalars(
        query.order_by(ReviewItem.said_at.desc(), ReviewItem.id.desc()).limit(PER_PAGE).offset((page - 1) * PER_PAGE)
    ).all()
    return render(
        console, "console_review.html", me, items=items, total=total, page=page, more=page * PER_PAGE < total,
        status=status, reason=reason, statuses=STATUSES, reasons=REASONS, names=intent_names(),
        choices=label_choices(), shown=sender_label, when=weekday_and_clock, quote=quote, **extra,
    )  # fmt: skip


@router.get("/console/review", response_class=HTMLResponse, tags=["console"])
def review(
    console: Console,
    me: Annotated[Staff, staff_with("conversations.view")],
    status: str = "open",
    reason: str = "",
    page: int = 1,
    done: str = "",
) -> HTMLResponse:
    """The queue: scan for new unsure messages, then list them."""
    page = max(1, page)
    error = None
    try:
        with me.db.begin_nested():
            added = review_queue.scan(session=me.db, tracker=tracker_of(console), threshold=threshold_of(console))
    except TrackerUnavailable as exc:
        added, error = 0, str(exc)
    me.audit("review.view", target=status or "all", reason=reason, page=page, scanned=added)
    return _page(console, me, status, reason, page, done=done or None, error=error)


@router.post("/console/review/{item_id}/label", tags=["console"])
def label(
    console: Console,
    me: Annotated[Staff, staff_posting("review.label")],
    item_id: int,
    choice: str = Form(""),
    ignore: str = Form(""),
) -> Response:
    """Label one queued message (an intent, or "ignore" — the 忽略 button)."""
    if ignore:
        choice = review_queue.IGNORE
    item = me.db.get(ReviewItem, item_id)
    if item is None:
        raise HTTPException(status_code=404, detail="待标注队列里没有这一条。")
    try:
        with me.db.begin_nested():
            outcome = review_queue.label(
                session=me.db, item=item, choice=choice, account=me.account, now=me.now,
                review=console.settings.review_nlu_file,
            )  # fmt: skip
    except (DomainError, ReviewFileError) as exc:
        me.audit("review.label", target=str(item_id), outcome="failed", label=choice[:64], why=str(exc))
        page = _page(console, me, "open", "", 1, error=str(exc))
        page.status_code = 400
        return page
    me.audit("review.label", target=str(item_id), label=choice, status=str(item.status))
    return RedirectResponse(f"/console/review?done={quote(outcome)}", status_code=303)
