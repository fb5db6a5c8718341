"""The review queue: fill it from the tracker store, flag a message into it, label what is in it.

:func:`scan` reads the resident messages Rasa stored since the last scan
(the cursor in ``review_cursors``) and queues those that fell to the
fallback (the NLU's ``nlu_fallback``, or the dialogue's
``action_default_fallback`` right after them) or were understood with less
confidence than ``REVIEW_CONFIDENCE_THRESHOLD``. The key (sender, event id)
is unique, so a scan run twice, or by the worker and a page at once, queues
nothing twice. Button presses (``/intent``) are not words and never queued.

A label is an intent of the domain (a request category's code is its
intent) or "ignore". An accepted label writes the masked text to the
review file (:mod:`backend.console.review_file`); "ignore" writes nothing.
"""

from __future__ import annotations

import logging
from datetime import datetime
from functools import lru_cache
from pathlib import Path

import yaml
from sqlalchemy import func, or_, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.console import review_file
from backend.console.tracker_access import reading
from backend.console.user_events import FALLBACK_ACTION, Said, moment, parse_user, user_event
from backend.errors import DomainError
from backend.models import ConsoleAccount, ReviewCursor, ReviewItem
from backend.privacy import mask_text
from backend.settings import PROJECT_ROOT
from backend.tracker_events import EVENTS

logger = logging.getLogger(__name__)

CURSOR = "tracker"
BATCH = 500
IGNORE = "ignore"
NLU_FOLDER = PROJECT_ROOT / "data" / "nlu"
NOT_LABELS = frozenset({"nlu_fallback"})


@lru_cache(maxsize=1)
def domain_intents(domain_folder: Path = PROJECT_ROOT / "domain") -> frozenset[str]:
    """Every intent the domain declares (a label must be one, or ``rasa data validate`` fails)."""
    intents: set[str] = set()
    for path in sorted(domain_folder.glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for entry in data.get("intents") or []:
            intents.add(next(iter(entry)) if isinstance(entry, dict) else str(entry))
    return frozenset(intents - NOT_LABELS)


def _queue(session: Session, *, sender: str, event_id: int, at: datetime, said: Said, reason: str,
           flagged_by: int | None = None) -> tuple[ReviewItem | None, bool]:  # fmt: skip
    """Queue one message unless it is already queued (then the existing item, marked fallback if it fell).

    Returns the item and whether it is new.
    """
    existing = session.scalars(select(ReviewItem).filter_by(sender_id=sender, event_id=event_id)).first()
    if existing is not None:
        if reason == "fallback" and existing.reason == "low_confidence":
            existing.reason = "fallback"
        return existing, False
    item = ReviewItem(
        event_id=event_id, sender_id=sender, said_at=at, text=mask_text(said.text),
        predicted_intent=said.guess, confidence=said.guess_confidence, reason=reason, status="open",
        flagged_by=flagged_by,
    )  # fmt: skip
    try:
        with session.begin_nested():
            session.add(item)
    except IntegrityError:  # another scan queued it a moment ago
        return session.scalars(select(ReviewItem).filter_by(sender_id=sender, event_id=event_id)).first(), False
    return item, True


def scan(*, session: Session, tracker: Engine, threshold: float) -> int:
    """Queue the unsure messages stored since the last scan; how many were new."""
    cursor = session.get(ReviewCursor, CURSOR)
    if cursor is None:
        cursor = ReviewCursor(name=CURSOR, last_event_id=0)
        session.add(cursor)
    added = 0
    with reading(tracker) as connection:
        top = connection.execute(select(func.max(EVENTS.c.id))).scalar() or 0
        last = int(cursor.last_event_id or 0)
        if top < last:  # the store was emptied or replaced: read it again from the start
            last = 0
        while True:
            rows = connection.execute(
                select(EVENTS.c.id, EVENTS.c.sender_id, EVENTS.c.type_name, EVENTS.c.timestamp, EVENTS.c.data)
                .where(EVENTS.c.id > last)
                .where(or_(EVENTS.c.type_name == "user", EVENTS.c.action_name == FALLBACK_ACTION))
                .order_by(EVENTS.c.id)
                .limit(BATCH)
            ).all()
            for event_id, sender, kind, timestamp, data in rows:
                if kind != "user":  # the dialogue fell back: on the resident message just before
                    before = connection.execute(
                        select(EVENTS.c.id, EVENTS.c.timestamp, EVENTS.c.data)
                        .where(EVENTS.c.sender_id == sender, EVENTS.c.type_name == "user", EVENTS.c.id < event_id)
                        .order_by(EVENTS.c.id.desc())
                        .limit(1)
                    ).first()
                    if before is None:
                        continue
                    event_id, timestamp, data = before
                said = parse_user(data)
                if said.command or not said.text.strip():
                    continue
                reason = "fallback" if (kind != "user" or said.fallback) else None
                if reason is None and said.low(threshold):
                    reason = "low_confidence"
                if reason is None:
                    continue
                _, new = _queue(session, sender=sender, event_id=event_id, at=moment(timestamp), said=said,
                                reason=reason)  # fmt: skip
                added += int(new)
            if not rows:
                break
            last = int(rows[-1][0])
    cursor.last_event_id = last
    session.flush()
    return added


def flag(
    *, session: Session, tracker: Engine, sender: str, event_id: int, account: ConsoleAccount
) -> tuple[ReviewItem, bool]:
    """Put one resident message into the queue by hand (an already queued one stays as it is); whether it is new.

    Raises:
        DomainError: no such resident message in that conversation, or it is a button press.
    """
    found = user_event(tracker, sender, event_id)
    if found is None:
        raise DomainError("没有找到这条居民消息。")
    at, said = found
    if said.command or not said.text.strip():
        raise DomainError("这是按钮操作，不是居民说的话，不用标注。")
    item, new = _queue(session, sender=sender, event_id=event_id, at=at, said=said, reason="flagged",
                     flagged_by=int(account.id))  # fmt: skip
    assert item is not None
    return item, new


def label(
    *, session: Session, item: ReviewItem, choice: str, account: ConsoleAccount, now: datetime, review: Path,
    nlu_folder: Path = NLU_FOLDER,
) -> str:  # fmt: skip
    """Label one open item with an intent (written to the review file) or "ignore"; what happened, in words.

    Raises:
        DomainError: the item is already labelled, or the intent is not in the domain.
        review_file.ReviewFileError: the review file cannot be written.
    """
    if item.status != "open":
        raise DomainError("这条已经处理过了。")
    if choice == IGNORE:
        item.status = "ignored"
        outcome = "已忽略，没有写入训练数据。"
    elif choice in domain_intents():
        added = review_file.add_example(review=review, nlu_folder=nlu_folder, intent=choice, text=str(item.text))
        item.status = "accepted"
        outcome = "已写入训练数据。" if added else "训练数据里已经有同样的句子，没有重复写入。"
    else:
        raise DomainError("没有这个意图，请从列表里选。")
    item.label = choice
    item.labelled_by = account.id
    item.labelled_at = now
    return outcome
