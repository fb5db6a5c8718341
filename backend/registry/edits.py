"""Edits of the registry that change where tickets go, each validated before it is made.

Routing (:mod:`backend.tickets.routing`) reads the registry: a building's
grid decides who gets an estate's tickets, a road's grid who gets the
road's, estate and place aliases which place a resident's words resolve
to, a department's categories where a public ticket goes at the top of
the chain, and a grid's member who is dispatched. A wrong edit sends
residents' tickets to the wrong person, so each edit is checked first (a
building stays in its estate's community, an alias never names two places,
a public category has one department, no grid is left without a member)
and returns what it was and what it is now, for the audit trail.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.categories import default_table
from backend.errors import InvalidInput, NotFound
from backend.models import Building, Department, Estate, Grid, GridMember, Place

ALIAS_MAX = 32


@dataclass(frozen=True)
class Change:
    """One edit, as the audit trail keeps it."""

    action: str
    target: str
    before: Any
    after: Any
    summary: str


def _grid(session: Session, code: str) -> Grid:
    grid = session.scalars(select(Grid).filter_by(code=code.strip())).first()
    if grid is None:
        raise NotFound(f"没有编号为 {code[:32]} 的网格。")
    return grid


def move_building(session: Session, *, estate_code: str, number: int, grid_code: str) -> Change:
    """Put one building of an estate into another grid of the same community."""
    estate = session.scalars(select(Estate).filter_by(code=estate_code.strip())).first()
    if estate is None:
        raise NotFound(f"没有编号为 {estate_code[:32]} 的小区。")
    building = session.scalars(select(Building).filter_by(estate_id=estate.id, number=number)).first()
    if building is None:
        raise NotFound(f"{estate.name}没有 {number} 号楼。")
    grid = _grid(session, grid_code)
    if grid.community_id != estate.community_id:
        raise InvalidInput(f"{estate.name}属于{estate.community.name}，楼栋只能划给本社区的网格。")
    before = building.grid.code
    building.grid_id = grid.id
    session.flush()
    return Change("registry.building", f"{estate.code}#{number}", before, grid.code,
                  f"{estate.name}{number}号楼 改由 {grid.name} 负责。")  # fmt: skip


def move_place(session: Session, *, place_code: str, grid_code: str) -> Change:
    """Put a road or public place into another grid of the same street."""
    place = session.scalars(select(Place).filter_by(code=place_code.strip())).first()
    if place is None:
        raise NotFound(f"没有编号为 {place_code[:32]} 的道路或场所。")
    grid = _grid(session, grid_code)
    if grid.community.street_id != place.grid.community.street_id:
        raise InvalidInput(f"{place.name}在{place.grid.community.name}所在的街道，只能划给本街道的网格。")
    before = place.grid.code
    place.grid_id = grid.id
    session.flush()
    return Change("registry.place", str(place.code), before, grid.code, f"{place.name} 改由 {grid.name} 负责。")


def _clean_aliases(text: str) -> list[str]:
    aliases: list[str] = []
    for raw in re.split(r"[,，、;；\s]+", text):
        alias = raw.strip()
        if not alias or alias in aliases:
            continue
        if len(alias) < 2 or len(alias) > ALIAS_MAX:
            raise InvalidInput(f"别名“{alias[:ALIAS_MAX]}”要 2 到 {ALIAS_MAX} 个字。")
        if alias.isdigit():
            raise InvalidInput(f"别名“{alias}”只有数字，会和楼号、电话混淆。")
        aliases.append(alias)
    return aliases


def set_aliases(session: Session, *, kind: str, code: str, text: str) -> Change:
    """Replace the aliases of an estate or a road / public place (comma or space separated)."""
    model: Any = {"estate": Estate, "place": Place}.get(kind)
    if model is None:
        raise InvalidInput("只能改小区或道路、场所的别名。")
    row = session.scalars(select(model).filter_by(code=code.strip())).first()
    if row is None:
        raise NotFound(f"没有编号为 {code[:32]} 的{'小区' if kind == 'estate' else '道路或场所'}。")
    aliases = _clean_aliases(text)
    others = [r for r in [*session.scalars(select(Estate)), *session.scalars(select(Place))] if r is not row]
    for alias in aliases:
        for other in others:
            names = [str(other.name), *[str(a) for a in (other.aliases or [])]]
            if alias in names:
                raise InvalidInput(f"“{alias}”已经是{other.name}的名字或别名，同一个说法不能指两个地方。")
    before = list(row.aliases or [])
    row.aliases = aliases
    session.flush()
    shown = "、".join(aliases) or "（无）"
    return Change(f"registry.{kind}_aliases", str(row.code), before, aliases, f"{row.name}的别名改为：{shown}。")


def set_department_categories(session: Session, *, department_code: str, categories: list[str]) -> Change:
    """Say which public categories a department answers for (each has exactly one department)."""
    department = session.scalars(select(Department).filter_by(code=department_code.strip())).first()
    if department is None:
        raise NotFound(f"没有编号为 {department_code[:32]} 的部门。")
    table = default_table()
    wanted: list[str] = []
    for code in categories:
        category = table.categories.get(code)
        if category is None:
            raise InvalidInput(f"没有 {code[:32]} 这个类别。")
        if category.matter != "public":
            raise InvalidInput(f"{category.name}是{table.matter_names[category.matter]}，不归职能部门。")
        if code not in wanted:
            wanted.append(code)
    for other in session.scalars(select(Department).where(Department.id != department.id)):
        taken = [c for c in wanted if c in (other.categories or [])]
        if taken:
            names = "、".join(table.categories[c].name for c in taken)
            raise InvalidInput(f"{names}现在由{other.name}负责；一个类别只能有一个部门，请先从{other.name}去掉。")
    before = list(department.categories or [])
    department.categories = wanted
    session.flush()
    shown = "、".join(table.categories[c].name for c in wanted) or "（无）"
    return Change("registry.department", str(department.code), before, wanted, f"{department.name}负责：{shown}。")


def move_member(session: Session, *, member_code: str, grid_code: str) -> Change:
    """Move a grid member to another grid; a grid is never left without one."""
    member = session.scalars(select(GridMember).filter_by(code=member_code.strip())).first()
    if member is None:
        raise NotFound(f"没有编号为 {member_code[:32]} 的网格员。")
    grid = _grid(session, grid_code)
    old = member.grid
    if old.id != grid.id and len(old.members) <= 1:
        raise InvalidInput(f"{old.name}只有{member.name}一位网格员，先给它安排新的网格员再调走。")
    before = old.code
    member.grid_id = grid.id
    session.flush()
    session.expire(old)
    return Change("registry.member", str(member.code), before, grid.code, f"网格员{member.name}调到{grid.name}。")
