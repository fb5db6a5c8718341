"""The console statistics' filters: a date range and a community, read from the query and checked.

Community staff are held to their own community whatever the query says; a
value the page cannot use is a :class:`BadFilter` whose message says what to
write instead.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from urllib.parse import urlencode

from sqlalchemy import select

from backend.console import statistics as stats
from backend.dates import local
from backend.models import Community
from backend.web.console.auth import Staff

logger = logging.getLogger(__name__)


class BadFilter(ValueError):
    """A filter value the page cannot use; the message says what to write instead."""


@dataclass
class Filters:
    """What the page shows: the periods, the community (``None``: all), and the form's values."""

    weekly: stats.Period
    monthly: stats.Period
    community_id: int | None
    community_name: str
    start: str = ""
    end: str = ""
    community: str = ""

    def query(self) -> str:
        """The filters as a query string, for the CSV links."""
        pairs = {"start": self.start, "end": self.end, "community": self.community}
        return urlencode({k: v for k, v in pairs.items() if v})


def _day(text: str, what: str) -> date | None:
    if not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise BadFilter(f"{what}请写成 2026-11-01 这样的格式。") from None


def read_filters(me: Staff, start: str, end: str, community: str) -> Filters:
    """Read the filters; community staff are held to their own community whatever the query says.

    Raises:
        BadFilter: an unreadable date, an end before the start, too long a range, an unknown community.
    """
    today = local(me.now).date()
    first, last = _day(start, "开始日期"), _day(end, "结束日期")
    if first is not None:
        last = last or max(today, first)
        if last < first:
            raise BadFilter("结束日期不能早于开始日期。")
        if (last - first).days + 1 > stats.MAX_DAYS:
            raise BadFilter("时间范围最长两年，请缩短后再查。")
        weekly = monthly = stats.Period(first=first, last=last)
    else:
        weekly, monthly = stats.last_weeks(last or today), stats.last_months(last or today)
    if me.account.role == "community_staff":
        found = me.db.get(Community, me.account.community_id) if me.account.community_id is not None else None
        if found is None:
            raise BadFilter("您的账号还没有对应的社区，请联系管理员设置后再看统计。")
        community = ""
    elif community:
        found = me.db.scalars(select(Community).filter_by(code=community)).first()
        if found is None:
            raise BadFilter("没有这个社区，请从列表里选择。")
    else:
        found = None
    return Filters(
        weekly=weekly,
        monthly=monthly,
        community_id=int(found.id) if found is not None else None,
        community_name=str(found.name) if found is not None else "全街道",
        start=start.strip(),
        end=end.strip(),
        community=community,
    )
