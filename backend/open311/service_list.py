"""The Open311 services: the request categories of ``config/categories.yml``, one service each.

``service_code`` is the category code verbatim (the codes are a fixed
contract); each service has one optional attribute, ``urgency``, the choice
the chat's form asks.
"""

from __future__ import annotations

from typing import Any

from backend.categories import Category, CategoryTable
from backend.open311.errors import Open311Error
from backend.tickets.service import URGENCIES
from backend.tickets.urgency import URGENCY_NAMES


def _deadline_rule(category: Category) -> str:
    if category.deadline_days == 0:
        return "当天 23:59 前办结"
    return f"受理后 {category.deadline_days} 天内办结（最后一天 23:59 截止）"


def services(table: CategoryTable) -> list[dict[str, Any]]:
    """Every category as an Open311 service, in the table's order."""
    return [
        {
            "service_code": c.code,
            "service_name": c.name,
            "description": f"办理：{c.handler}；{table.tier_names[c.tier]}；{_deadline_rule(c)}",
            "metadata": True,
            "type": "realtime",
            "keywords": ",".join([table.matter_names[c.matter], table.tier_names[c.tier]]),
            "group": table.matter_names[c.matter],
        }
        for c in table.categories.values()
    ]


def service_definition(table: CategoryTable, code: str) -> dict[str, Any]:
    """The attributes of one service: the optional urgency, as the chat's form asks it.

    Raises:
        Open311Error: 404 for a code that is not a category.
    """
    if table.get(code) is None:
        raise Open311Error(404, f"没有这个服务类别 / no service with code {code}")
    return {
        "service_code": code,
        "attributes": [
            {
                "variable": True,
                "code": "urgency",
                "datatype": "singlevaluelist",
                "required": False,
                "datatype_description": "默认 normal；emergency 按立说立办当天处理",
                "order": 1,
                "description": "紧急程度",
                "values": [{"key": u, "name": URGENCY_NAMES.get(u, u)} for u in URGENCIES],
            }
        ],
    }
