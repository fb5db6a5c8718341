"""The console's monthly ranking (一月一评比) of a community's residents by points: the page and its CSV.

Names are masked on both; the export is audited.
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from backend.points import staff_work
from backend.points.ranking import ranking_csv, title_of
from backend.web.console.auth import Staff, render
from backend.web.console.points_input import chosen_month, community_in_scope
from backend.web.console.staff_dependency import staff_with
from backend.web.deps import Console

logger = logging.getLogger(__name__)

router = APIRouter()


@router.get("/console/points/ranking", response_class=HTMLResponse, tags=["console"])
def ranking_page(
    console: Console, me: Annotated[Staff, staff_with("points.view")], community: str = "", month: str = ""
) -> HTMLResponse:
    """The community's monthly ranking, names masked, with the CSV for the notice board."""
    place, chosen = community_in_scope(me, community), chosen_month(me, month)
    lines = staff_work.ranking(session=me.db, community=place, month=chosen)
    return render(
        console,
        "console_points_ranking.html",
        me,
        community=place,
        communities=staff_work.communities(session=me.db, account=me.account),
        month=chosen,
        lines=[(line, title_of(line) or "") for line in lines],
    )


@router.get("/console/points/ranking.csv", tags=["console"])
def ranking_export(
    console: Console, me: Annotated[Staff, staff_with("points.view")], community: str = "", month: str = ""
) -> Response:
    """The ranking as CSV (UTF-8 with a BOM, so Excel opens it), masked names only; the export is audited."""
    place, chosen = community_in_scope(me, community), chosen_month(me, month)
    lines = staff_work.ranking(session=me.db, community=place, month=chosen)
    me.audit("points.ranking_export", target=f"{place.code}/{chosen}", rows=len(lines))
    filename = f"ranking-{place.code}-{chosen}.csv"
    return Response(
        "\ufeff" + ranking_csv(lines),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
