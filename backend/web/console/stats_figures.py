"""The console statistics' figures: each chart (inline SVG) with its table, which is also its CSV.

Each figure is built from the filters by one function of :data:`FIGURES`,
from the queries of :mod:`backend.console.statistics`; the charts are
:mod:`backend.console.charts`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from markupsafe import Markup

from backend.categories import default_table
from backend.console import charts
from backend.console import statistics as stats
from backend.web.console.auth import Staff
from backend.web.console.stats_filters import Filters

logger = logging.getLogger(__name__)

TOP_CATEGORIES = 6  # the weekly chart by category draws the busiest ones, the rest as 其他
Cell = str | int


@dataclass
class Figure:
    """One chart with its table; the table is also the CSV."""

    name: str
    title: str
    note: str
    chart: Markup
    columns: list[tuple[str, str]]  # (中文, code)
    rows: list[list[Cell]] = field(default_factory=list)
    empty: bool = False


def week_label(monday: date, period: stats.Period) -> str:
    """A week as its Monday, like 11月16日起 (with the year when the period spans two years)."""
    year = f"{monday.year}年" if period.first.year != period.last.year else ""
    return f"{year}{monday.month}月{monday.day}日起"


def month_label(month: str) -> str:
    """2026-11 → 2026年11月."""
    year, number = month.split("-")
    return f"{year}年{int(number)}月"


def _period_text(period: stats.Period) -> str:
    first, last = period.first, period.last
    return f"{first.year}年{first.month}月{first.day}日至{last.year}年{last.month}月{last.day}日"


# --- the figures -------------------------------------------------------------------------------


def weekly_by_matter(me: Staff, f: Filters) -> Figure:
    """Tickets per week, stacked by matter (公家事 / 大家事 / 自家事)."""
    table = default_table()
    counts = stats.tickets_per_week(session=me.db, period=f.weekly, by="matter", community_id=f.community_id)
    labels = [week_label(date.fromisoformat(w), f.weekly) for w in counts.rows]
    names = [table.matter_names[m] for m in counts.series]
    title = "每周工单数（按事项）"
    chart = charts.bars(
        title=title,
        labels=labels,
        series=[
            charts.Series(n, [counts.values[w][m] for w in counts.rows])
            for n, m in zip(names, counts.series, strict=True)
        ],
    )
    rows: list[list[Cell]] = [
        [label, w, *[counts.values[w][m] for m in counts.series], sum(counts.values[w].values())]
        for label, w in zip(labels, counts.rows, strict=True)
    ]
    return Figure(
        name="weekly-matter",
        title=title,
        note=f"{_period_text(f.weekly)}，按登记时间，每周从周一算起。",
        chart=chart,
        columns=[
            ("周", "week"),
            ("周一日期", "week_start"),
            *zip(names, counts.series, strict=True),
            ("合计", "total"),
        ],
        rows=rows,
        empty=counts.empty,
    )


def weekly_by_category(me: Staff, f: Filters) -> Figure:
    """Tickets per week by category: the busiest categories drawn, every category in the table and CSV."""
    table = default_table()
    counts = stats.tickets_per_week(session=me.db, period=f.weekly, by="category", community_id=f.community_id)
    labels = [week_label(date.fromisoformat(w), f.weekly) for w in counts.rows]
    busiest = sorted((c for c in counts.series if counts.total(c)), key=lambda c: -counts.total(c))
    drawn, rest = busiest[:TOP_CATEGORIES], busiest[TOP_CATEGORIES:]
    series = [charts.Series(table.categories[c].name, [counts.values[w][c] for w in counts.rows]) for c in drawn]
    if rest:
        series.append(charts.Series("其他类别", [sum(counts.values[w][c] for c in rest) for w in counts.rows]))
    title = "每周工单数（按类别）"
    rows: list[list[Cell]] = [
        [label, w, *[counts.values[w][c] for c in counts.series], sum(counts.values[w].values())]
        for label, w in zip(labels, counts.rows, strict=True)
    ]
    return Figure(
        name="weekly-category",
        title=title,
        note=f"{_period_text(f.weekly)}。图中画出件数最多的 {TOP_CATEGORIES} 类，"
        "其余合为“其他类别”；表格和 CSV 有全部类别。",
        chart=charts.bars(title=title, labels=labels, series=series),
        columns=[
            ("周", "week"),
            ("周一日期", "week_start"),
            *[(table.categories[c].name, c) for c in counts.series],
            ("合计", "total"),
        ],
        rows=rows,
        empty=counts.empty,
    )


def _on_time(me: Staff, f: Filters, by: str) -> Figure:
    rates = stats.on_time(session=me.db, period=f.monthly, by=by, community_id=f.community_id, now=me.now)
    what = "响应分级" if by == "tier" else "社区"
    title = f"按时办结率（按{what}）"
    return Figure(
        name=f"on-time-{by}",
        title=title,
        note=f"{_period_text(f.monthly)}登记的工单中已办结或已到期的；在时限内办结算按时，超期未办结算超时。",
        chart=charts.percents(title=title, rows=[charts.Share(r.group, r.on_time, r.counted) for r in rates]),
        columns=[(what, by), ("代码", "code"), ("计入工单", "counted"), ("按时办结", "on_time"), ("按时率", "rate")],
        rows=[[r.group, r.code, r.counted, r.on_time, charts.percent_text(r.on_time, r.counted)] for r in rates],
        empty=not rates,
    )


def _satisfaction(me: Staff, f: Filters, by: str) -> Figure:
    rates = stats.satisfaction(session=me.db, period=f.monthly, by=by, community_id=f.community_id)
    what = {"community": "社区", "category": "类别", "month": "月份"}[by]
    title = f"满意率（按{what}）"
    groups = [month_label(r.group) if by == "month" else r.group for r in rates]
    return Figure(
        name=f"satisfaction-{by}",
        title=title,
        note=f"{_period_text(f.monthly)}评价的工单；满意、基本满意和默认满意都算满意。",
        chart=charts.percents(
            title=title, rows=[charts.Share(g, r.satisfied, r.rated) for g, r in zip(groups, rates, strict=True)]
        ),
        columns=[(what, by), ("代码", "code"), ("已评价", "rated"), ("满意", "satisfied"), ("满意率", "rate")],
        rows=[
            [g, r.code, r.rated, r.satisfied, charts.percent_text(r.satisfied, r.rated)]
            for g, r in zip(groups, rates, strict=True)
        ],
        empty=not rates,
    )


def points_by_month(me: Staff, f: Filters) -> Figure:
    """Points awarded and redeemed per month, side by side."""
    counts = stats.points_per_month(session=me.db, period=f.monthly, community_id=f.community_id)
    labels = [month_label(m) for m in counts.rows]
    title = "每月积分发放与兑换"
    names = {"awarded": "发放积分", "redeemed": "兑换积分"}
    return Figure(
        name="points-month",
        title=title,
        note=f"{_period_text(f.monthly)}。发放：所有加分；兑换：爱心超市兑换扣的分。",
        chart=charts.bars(
            title=title,
            labels=labels,
            series=[charts.Series(names[s], [counts.values[m][s] for m in counts.rows]) for s in counts.series],
            stacked=False,
        ),
        columns=[("月份", "month"), *[(names[s], s) for s in counts.series]],
        rows=[[m, *[counts.values[m][s] for s in counts.series]] for m in counts.rows],
        empty=counts.empty,
    )


FIGURES: dict[str, Callable[[Staff, Filters], Figure]] = {
    "weekly-matter": weekly_by_matter,
    "weekly-category": weekly_by_category,
    "on-time-tier": lambda me, f: _on_time(me, f, "tier"),
    "on-time-community": lambda me, f: _on_time(me, f, "community"),
    "satisfaction-community": lambda me, f: _satisfaction(me, f, "community"),
    "satisfaction-category": lambda me, f: _satisfaction(me, f, "category"),
    "satisfaction-month": lambda me, f: _satisfaction(me, f, "month"),
    "points-month": points_by_month,
}
