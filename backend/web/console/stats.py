"""The console's statistics page: charts a person reads at a glance, the numbers under each, and CSV.

``/console/stats`` draws each figure as inline SVG (:mod:`backend.console.charts`,
no JavaScript, works offline) with its table in a ``<details>``; every
figure downloads as ``/console/stats/<name>.csv`` (UTF-8 with a BOM so
Excel reads the Chinese). The filters are a date range and, for admins
and operators, a community; community staff always see their own
community's figures only. The queries are in :mod:`backend.console.statistics`,
the figures in :mod:`backend.web.console.stats_figures`, the filters in
:mod:`backend.web.console.stats_filters`.
"""

from __future__ import annotations

import csv
import io
import logging
from typing import Annotated

from fastapi import APIRouter, HTTPException
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from backend.models import Community
from backend.web.console.auth import Staff, render
from backend.web.console.staff_dependency import staff_with
from backend.web.console.stats_figures import FIGURES, Cell
from backend.web.console.stats_filters import BadFilter, read_filters
from backend.web.deps import Console

logger = logging.getLogger(__name__)

router = APIRouter()


def _communities(me: Staff) -> list[Community]:
    if me.account.role == "community_staff":
        return []
    return list(me.db.scalars(select(Community).order_by(Community.code)))


@router.get("/console/stats", response_class=HTMLResponse, tags=["console"])
def stats_page(
    console: Console,
    me: Annotated[Staff, staff_with("stats.view")],
    start: str = "",
    end: str = "",
    community: str = "",
) -> HTMLResponse:
    """Every figure for the chosen period and community; a filter it cannot read is explained, not a 500."""
    form = {"start": start[:20], "end": end[:20], "community": community[:32]}
    try:
        filters = read_filters(me, start[:20], end[:20], community[:32])
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
def stats_csv(
    console: Console,
    me: Annotated[Staff, staff_with("stats.view")],
    name: str,
    start: str = "",
    end: str = "",
    community: str = "",
) -> Response:
    """One figure's table as CSV: UTF-8 with a BOM, the header in Chinese with the codes."""
    if name not in FIGURES:
        raise HTTPException(status_code=404, detail="没有这张统计表。")
    try:
        filters = read_filters(me, start[:20], end[:20], community[:32])
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
