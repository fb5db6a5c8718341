"""Which tickets a GET requests query selects: by ids, or by codes, status and a time window.

Private matters are visible only to the client that filed them; every bad
filter is an Open311 400, never a 500.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Mapping

from sqlalchemy import and_, not_, or_, select
from sqlalchemy.orm import Session

from backend.categories import DISTRICT_TZ, CategoryTable
from backend.models import Ticket
from backend.open311.clients import filed_by
from backend.open311.errors import bad
from backend.tickets.lifecycle import OPEN_STATUSES
from backend.tickets.numbering import NUMBER

MAX_RESULTS = 1000
MAX_IDS = 100
DEFAULT_WINDOW = timedelta(days=90)

# The times a query may name: outside them a time cannot be compared or stored on every database
# (year 1 in +08:00 is before year 1 in UTC), so it is refused rather than a 500.
EARLIEST = datetime(1900, 1, 1, tzinfo=timezone.utc)
LATEST = datetime(9999, 1, 1, tzinfo=timezone.utc)


def parse_datetime(value: str, name: str) -> datetime:
    """An ISO 8601 time, as aware UTC; one without a zone is district time.

    Raises:
        Open311Error: 400 when it is not ISO 8601, or outside the years 1900–9998.
    """
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise bad(f"{name} 应是 ISO 8601 时间，如 2026-11-01T00:00:00+08:00 / {name} is not ISO 8601") from None
    out_of_range = bad(f"{name} 超出可查询的时间范围（1900 年至 9998 年）/ {name} is out of range (years 1900 to 9998)")
    try:
        moment = (moment if moment.tzinfo is not None else moment.replace(tzinfo=DISTRICT_TZ)).astimezone(timezone.utc)
    except (OverflowError, ValueError):  # 0001-01-01 in +08:00 is before year 1 in UTC
        raise out_of_range from None
    if not EARLIEST <= moment < LATEST:
        raise out_of_range
    return moment


def _visible(client: str | None) -> Any:
    """Public and shared matters for everyone; private ones only to the client that filed them."""
    if client is None:
        return Ticket.matter != "private"
    return or_(Ticket.matter != "private", Ticket.resident_id.in_(filed_by(client)))


def find_requests(
    *, session: Session, table: CategoryTable, query: Mapping[str, str], client: str | None, now: datetime
) -> list[Ticket]:
    """The tickets a GET requests query selects, newest first, at most 1000.

    ``service_request_id`` (comma-separated, at most 100) overrides the other
    filters, as the spec says; otherwise ``service_code`` (comma-separated),
    ``status`` (open / closed) and the ``start_date``–``end_date`` window,
    by default the 90 days before ``end_date`` (or now).

    Raises:
        Open311Error: 400 for unknown codes or statuses, bad or out-of-range dates, or too many ids.
    """
    stmt = select(Ticket).where(_visible(client))
    ids = [i.strip().upper() for i in (query.get("service_request_id") or "").split(",") if i.strip()]
    if len(ids) > MAX_IDS:
        raise bad(f"service_request_id 一次最多 {MAX_IDS} 个 / at most {MAX_IDS} ids at once")
    if ids:
        stmt = stmt.where(Ticket.number.in_([i for i in ids if NUMBER.match(i)]))
    else:
        codes = [c.strip() for c in (query.get("service_code") or "").split(",") if c.strip()]
        if any(table.get(c) is None for c in codes):
            raise bad("没有这个服务类别 / unknown service_code")
        if codes:
            stmt = stmt.where(Ticket.category.in_(codes))
        statuses = {s.strip() for s in (query.get("status") or "").split(",") if s.strip()}
        if not statuses <= {"open", "closed"}:
            raise bad("status 只能是 open 或 closed / status must be open or closed")
        if statuses == {"open"}:
            stmt = stmt.where(Ticket.status.in_(OPEN_STATUSES))
        elif statuses == {"closed"}:
            stmt = stmt.where(not_(Ticket.status.in_(OPEN_STATUSES)))
        end = parse_datetime(query["end_date"], "end_date") if query.get("end_date") else now
        start = parse_datetime(query["start_date"], "start_date") if query.get("start_date") else end - DEFAULT_WINDOW
        if start > end:
            raise bad("start_date 晚于 end_date / start_date is after end_date")
        stmt = stmt.where(and_(Ticket.created_at >= start, Ticket.created_at <= end))
    stmt = stmt.order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(MAX_RESULTS)
    return list(session.scalars(stmt))


def now_utc() -> datetime:
    """The current time, aware UTC (as the ticket columns store it)."""
    return datetime.now(timezone.utc)
