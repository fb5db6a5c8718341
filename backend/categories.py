"""The category table: what each request category is, whose matter, who handles it, by when.

Loaded from ``config/categories.yml``, which admins edit. The 21 codes are
the taxonomy's fixed contract (:data:`CODES`): loading fails if the file
renames, drops or adds one, so a typo never silently breaks routing.
Actions, the triage API, the console and the evaluation all read this one
table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from backend.errors import InvalidRegistry
from backend.settings import PROJECT_ROOT

TABLE_FILE = PROJECT_ROOT / "config" / "categories.yml"
DISTRICT_TZ = ZoneInfo("Asia/Shanghai")

CODES: tuple[str, ...] = (
    "road",
    "streetlight",
    "street_sanitation",
    "street_order",
    "traffic",
    "utility",
    "pollution",
    "public_safety",
    "policy_service",
    "other_public",
    "elevator",
    "building_common",
    "estate_sanitation",
    "estate_parking",
    "property_service",
    "civility",
    "estate_renewal",
    "home_repair",
    "family_dispute",
    "neighbor_dispute",
    "personal_help",
)
MATTERS = ("public", "shared", "private")
TIERS = ("immediate", "negotiated", "coordinated")
SCOPES = ("home", "estate", "public")


@dataclass(frozen=True)
class Category:
    """One row of the table."""

    code: str
    matter: str
    name: str
    tier: str
    handler: str
    why: str
    deadline_days: int
    place_group: str | None


@dataclass(frozen=True)
class CategoryTable:
    """The whole table with the names of matters and tiers and the place groups."""

    categories: dict[str, Category]
    matter_names: dict[str, str]
    tier_names: dict[str, str]
    place_groups: dict[str, dict[str, str]]
    tier_days: dict[str, int]

    def get(self, code: str) -> Category | None:
        """The category for ``code``, or ``None`` when it is not a request category."""
        return self.categories.get(code)

    def resolve_place(self, group: str, scope: str) -> str:
        """The category a place group takes at a place scope (home / estate / public)."""
        return self.place_groups[group][scope]

    def deadline(self, code: str, filed_at: datetime) -> datetime:
        """When a request of ``code`` filed at ``filed_at`` is due (23:59 district time on the last day)."""
        return _due(filed_at, self.categories[code].deadline_days)

    def deadline_for_tier(self, tier: str, filed_at: datetime) -> datetime:
        """The deadline of a tier's default, for a ticket raised above its category's tier."""
        return _due(filed_at, self.tier_days[tier])


def _due(filed_at: datetime, days: int) -> datetime:
    last_day = filed_at.astimezone(DISTRICT_TZ).date() + timedelta(days=days)
    return datetime.combine(last_day, time(23, 59), tzinfo=DISTRICT_TZ)


def parse_table(data: dict[str, Any]) -> CategoryTable:
    """Validate the table's content.

    Raises:
        InvalidRegistry: a code is missing, unknown or renamed, or a value is invalid.
    """
    try:
        tiers = data["tiers"]
        rows = data["categories"]
        groups = data.get("place_groups") or {}
        matter_names = {code: str(m["name"]) for code, m in data["matters"].items()}
    except (KeyError, TypeError) as exc:
        raise InvalidRegistry(f"类别表格式不对：缺少 {exc}") from exc
    if set(rows) != set(CODES):
        missing, unknown = sorted(set(CODES) - set(rows)), sorted(set(rows) - set(CODES))
        raise InvalidRegistry(f"类别代码是固定的，不能增删改：缺少 {missing}，多出 {unknown}")
    if set(tiers) != set(TIERS) or set(matter_names) != set(MATTERS):
        raise InvalidRegistry(f"响应分级必须是 {list(TIERS)}，事项类型必须是 {list(MATTERS)}")
    categories = {}
    for code in CODES:
        row = rows[code]
        try:
            tier = row["tier"]
            if row["matter"] not in MATTERS or tier not in TIERS:
                raise InvalidRegistry(f"类别 {code} 的 matter 或 tier 不在允许的取值里")
            group = row.get("place_group")
            if group is not None and group not in groups:
                raise InvalidRegistry(f"类别 {code} 的 place_group {group} 没有定义")
            categories[code] = Category(
                code=code,
                matter=row["matter"],
                name=str(row["name"]),
                tier=tier,
                handler=str(row["handler"]),
                why=str(row["why"]),
                deadline_days=int(row.get("deadline_days", tiers[tier]["deadline_days"])),
                place_group=group,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidRegistry(f"类别 {code} 缺少或错误的字段 {exc}") from exc
    for group, mapping in groups.items():
        if set(mapping) != set(SCOPES) or not set(mapping.values()) <= set(CODES):
            raise InvalidRegistry(f"地点分组 {group} 必须给出 {list(SCOPES)} 三种地点对应的类别代码")
    return CategoryTable(
        categories=categories,
        matter_names=matter_names,
        tier_names={code: str(t["name"]) for code, t in tiers.items()},
        place_groups={g: dict(m) for g, m in groups.items()},
        tier_days={code: int(t["deadline_days"]) for code, t in tiers.items()},
    )


def load_table(path: Path = TABLE_FILE) -> CategoryTable:
    """Read and validate the category table file."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise InvalidRegistry(f"读不了类别表 {path}：{exc}") from exc
    return parse_table(data)


@lru_cache(maxsize=1)
def default_table() -> CategoryTable:
    """The project's table, read once per process on first use."""
    return load_table()
