"""Dates and times as residents read them, in the district's time zone (Asia/Shanghai).

Stored times are UTC; every date a resident sees goes through here, so the
chat, the console and the notifications write them the same way.
"""

from __future__ import annotations

from datetime import datetime

from backend.categories import DISTRICT_TZ

WEEKDAYS = "一二三四五六日"


def local(moment: datetime) -> datetime:
    """``moment`` in the district's time."""
    return moment.astimezone(DISTRICT_TZ)


def day(moment: datetime) -> str:
    """The day, like 11月24日."""
    t = local(moment)
    return f"{t.month}月{t.day}日"


def day_with_weekday(moment: datetime) -> str:
    """The day and weekday, like 11月24日（周二）."""
    return f"{day(moment)}（周{WEEKDAYS[local(moment).weekday()]}）"


def clock(moment: datetime) -> str:
    """The time of day, like 08:05."""
    return f"{local(moment):%H:%M}"


def weekday_and_clock(moment: datetime) -> str:
    """Day, weekday and time, like 11月24日（周二）23:59: how deadlines are promised."""
    return f"{day_with_weekday(moment)}{clock(moment)}"
