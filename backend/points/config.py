"""Import the points rules and the 爱心超市 catalogue from ``config/points.yml``.

Rules are matched by code and carry the file's ``version``. Catalogue items
are stocked per community; an import sets name and cost but never overwrites
stock that already exists, because stock changes with every redemption, and
never touches ``retired_at``: an item staff took off the shelf (下架) stays
off after a re-import.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.errors import InvalidRegistry
from backend.models import CatalogueItem, Community, PointsRule
from backend.services.upsert import upsert

AWARDERS = {"system", "grid_member", "admin"}


def import_points_config(*, session: Session, data: dict[str, Any]) -> Counter[str]:
    """Create or update the rules and each community's catalogue.

    Raises:
        InvalidRegistry: the file is malformed.
    """
    counts: Counter[str] = Counter()
    try:
        version = int(data.get("version", 1))
        for r in data["rules"]:
            if r["awarded_by"] not in AWARDERS:
                raise InvalidRegistry(f"积分规则 {r['code']} 的 awarded_by 必须是 {sorted(AWARDERS)} 之一")
            upsert(
                session,
                PointsRule,
                {"code": r["code"]},
                counts,
                name=r["name"],
                points=int(r["points"]),
                monthly_cap=r.get("monthly_cap"),
                awarded_by=r["awarded_by"],
                version=version,
            )
        communities = session.scalars(select(Community).order_by(Community.code)).all()
        for community in communities:
            for item in data.get("catalogue", []):
                existing = session.scalars(
                    select(CatalogueItem).filter_by(community_id=community.id, code=item["code"])
                ).one_or_none()
                stock = existing.stock if existing is not None else int(item["stock"])
                upsert(
                    session,
                    CatalogueItem,
                    {"community_id": community.id, "code": item["code"]},
                    counts,
                    name=item["name"],
                    cost=int(item["cost"]),
                    stock=stock,
                )
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidRegistry(f"积分配置文件格式不对：{exc}") from exc
    session.flush()
    return counts
