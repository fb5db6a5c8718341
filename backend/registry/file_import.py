"""Import the grid registry from the file an admin edits (YAML).

The file's shape is documented by ``config/registry.demo.yml``. Rows are
matched by ``code``, so importing the same file twice changes nothing, and an
edited file updates names, aliases, members and building-to-grid assignment
in place. Rows missing from the file are left alone: removing a grid that
tickets point to is a decision for the console, not for an import.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.errors import InvalidRegistry
from backend.models import Building, Community, Department, Estate, Grid, GridMember, Place, Street
from backend.services.upsert import upsert

logger = logging.getLogger(__name__)


def import_registry(*, session: Session, data: dict[str, Any]) -> Counter[str]:
    """Create or update every registry row named in ``data``.

    That is the street, its communities, grids, estates, buildings, roads and
    places, grid members and departments.

    Returns:
        How many rows were created, updated and left unchanged.

    Raises:
        InvalidRegistry: the file is malformed (message says where).
    """
    counts: Counter[str] = Counter()
    try:
        street_data = data["street"]
        street = upsert(session, Street, {"code": street_data["code"]}, counts, name=street_data["name"])
        for c in data.get("communities", []):
            _import_community(session, street, c, counts)
        for d in data.get("departments", []):
            upsert(
                session,
                Department,
                {"code": d["code"]},
                counts,
                name=d["name"],
                phone=d.get("phone"),
                categories=list(d.get("categories", [])),
            )
    except (KeyError, TypeError) as exc:
        raise InvalidRegistry(f"网格台账文件格式不对：缺少或错误的字段 {exc}") from exc
    session.flush()
    logger.info("registry import: %s", dict(counts))
    return counts


def _import_community(session: Session, street: Street, c: dict[str, Any], counts: Counter[str]) -> None:
    community = upsert(session, Community, {"code": c["code"]}, counts, street_id=street.id, name=c["name"])
    estates: dict[str, Estate] = {}
    for e in c.get("estates", []):
        estates[e["code"]] = upsert(
            session,
            Estate,
            {"code": e["code"]},
            counts,
            community_id=community.id,
            name=e["name"],
            aliases=list(e.get("aliases", [])),
        )
    for g in c.get("grids", []):
        grid = upsert(session, Grid, {"code": g["code"]}, counts, community_id=community.id, name=g["name"])
        member = g.get("member")
        if member:
            upsert(
                session,
                GridMember,
                {"code": member["code"]},
                counts,
                grid_id=grid.id,
                name=member["name"],
                phone=str(member["phone"]),
            )
        for estate_code, numbers in (g.get("buildings") or {}).items():
            estate = (
                estates.get(estate_code) or session.scalars(select(Estate).filter_by(code=estate_code)).one_or_none()
            )
            if estate is None:
                raise InvalidRegistry(f"网格 {g['code']} 引用了不存在的小区 {estate_code}")
            for number in numbers:
                upsert(session, Building, {"estate_id": estate.id, "number": int(number)}, counts, grid_id=grid.id)
        for kind, key in (("road", "roads"), ("public_place", "places")):
            for p in g.get(key, []):
                upsert(
                    session,
                    Place,
                    {"code": p["code"]},
                    counts,
                    grid_id=grid.id,
                    kind=kind,
                    name=p["name"],
                    aliases=list(p.get("aliases", [])),
                )
