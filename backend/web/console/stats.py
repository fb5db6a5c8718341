"""The console's statistics page: charts a person reads at a glance, the numbers under each, and CSV.

``/console/stats`` draws each figure as inline SVG (:mod:`backend.console.charts`,
no JavaScript, works offline) with its table in a ``<details>``; every
figure downloads as ``/console/stats/<name>.csv`` (UTF-8 with a BOM so
Excel reads the Chinese). The filters are a date range and, for admins
and operators, a community; community staff always see their own
community's figures only. The queries are in :mod:`backend.console.statistics`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup
from sqlalchemy import select

from backend.categories import default_table
from backend.console import charts
from backend.console import statistics as stats
from backend.dates import local
from backend.models import Community
from backend.web.console.auth import Staff, render, staff
from backend.web.deps import Console

router = APIRouter()

TOP_CATEGORIES = 6  # the weekly chart by category draws the busiest ones, the rest as 其他
Cell = str | int


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


def _day(text: str, what: str) -> date | None:
    if not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise BadFilter(f"{what}请写成 2026-11-01 这样的格式。") from None


def _filters(me: Staff, start: str, end: str, community: str) -> Filters:
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


# --- the routes --------------------------------------------------------------------------------


def _communities(me: Staff) -> list[Community]:
    if me.account.role == "community_staff":
        return []
    return list(me.db.scalars(select(Community).order_by(Community.code)))


@router.get("/console/stats", response_class=HTMLResponse, tags=["console"])
def stats_page(console: Console, start: str = "", end: str = "", community: str = "") -> HTMLResponse:
    """Every figure for the chosen period and community; a filter it cannot read is explained, not a 500."""
    with staff(console, "stats.view") as me:
        form = {"start": start[:20], "end": end[:20], "community": community[:32]}
        try:
            filters = _filters(me, start[:20], end[:20], community[:32])
        except BadFilter as exc:
            page = render(
                console, "console_stats.html", me, error=str(exc), figures=[], form=form,
                communities=_communities(me), scope=None,
            )  # fmt: skip
            page.status_code = 400
            return page
        figures = [build(me, filters) for build in FIGURES.values()]
        return render(
            console,
            "console_stats.html",
            me,
            figures=figures,
            form=form,
            communities=_communities(me),
            scope=filters.community_name,
            query=filters.query(),
        )


def _cell(value: Cell) -> Cell:
    """A text cell that Excel would read as a formula gets a leading apostrophe."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


@router.get("/console/stats/{name}.csv", tags=["console"])
def stats_csv(console: Console, name: str, start: str = "", end: str = "", community: str = "") -> Response:
    """One figure's table as CSV: UTF-8 with a BOM, the header in Chinese with the codes."""
    with staff(console, "stats.view") as me:
        if name not in FIGURES:
            raise HTTPException(status_code=404, detail="没有这张统计表。")
        try:
            filters = _filters(me, start[:20], end[:20], community[:32])
        except BadFilter as exc:
            return Response(str(exc), status_code=400, media_type="text/plain; charset=utf-8")
        figure = FIGURES[name](me, filters)
        period = filters.weekly if name.startswith("weekly") else filters.monthly
        me.audit("stats.export", target=name, period=f"{period.first}~{period.last}", community=filters.community_name)
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow([f"{zh}（{code}）" for zh, code in figure.columns])
        writer.writerows([[_cell(v) for v in row] for row in figure.rows])
        filename = f"stats-{name}-{period.first}_{period.last}.csv"
        return Response(
            "\ufeff" + out.getvalue(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )
