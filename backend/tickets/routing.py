"""Route a ticket's place to a grid: estate + building, or road / public place, through the registry.

Residents name estates with typos and nicknames (枫林园, 锦秀花园); names and
aliases of estates, roads and public places are matched exactly first, then
fuzzily (two of three characters right). A road that looks like an estate
(枫林路 beside 枫林苑) is the road: an exact name wins over a fuzzy one, a
name that reads as a road is matched only against roads and places, and so is
a place the resident says is not in an estate (不是小区, 马路上). A place that
cannot be resolved goes to a community's default queue and is flagged for
dispatch by staff.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from backend.models import Building, Community, Department, Estate, Grid, GridMember, Place
from backend.triage.place import names_a_road, says_not_estate

FUZZY = 0.66


@dataclass
class Route:
    """Where a ticket goes."""

    community: Community | None
    estate: Estate | None
    grid: Grid | None
    building: Building | None
    place: Place | None
    member: GridMember | None
    resolved: bool


def _names(row: Estate | Place) -> list[str]:
    return [str(row.name), *[str(a) for a in (row.aliases or [])]]


def _exact(text: str, rows: list[Any]) -> tuple[int, int, Any] | None:
    """The row whose name or alias appears in ``text`` (the longest name), with where that name ends and its length."""
    hits = [(len(n), text.rfind(n) + len(n), r) for r in rows for n in _names(r) if n and n in text]
    if not hits:
        return None
    length, end, row = max(hits, key=lambda hit: hit[0])
    return end, length, row


def _match(text: str, rows: list[Any]) -> Any | None:
    """The row whose name or alias appears in ``text``, else the closest fuzzy match."""
    exact = _exact(text, rows)
    if exact is not None:
        return exact[2]
    return _fuzzy(text, rows)


def _fuzzy(text: str, rows: list[Any]) -> Any | None:
    """The row with a name closest to some part of ``text`` (two of three characters right), or None."""
    best: tuple[float, Any] | None = None
    for row in rows:
        for name in _names(row):
            n = len(name)
            for start in range(0, max(1, len(text) - n + 1)):
                ratio = difflib.SequenceMatcher(None, name, text[start : start + n]).ratio()
                if ratio >= FUZZY and (best is None or ratio > best[0]):
                    best = (ratio, row)
    return best[1] if best else None


def route(
    *, session: Session, place_text: str, entities: dict[str, Any], fallback_community_id: int | None = None
) -> Route:
    """Resolve the place of a ticket to community, grid, building or road, and the grid member."""
    text = place_text or ""
    estate, place = _estate_or_place(session, text, entities)
    building = grid = None
    community = None
    if estate is not None:
        estate = _load_estate(session, estate.id)
        community = estate.community
        number = entities.get("building")
        if number is not None:
            building = next((b for b in estate.buildings if b.number == int(number)), None)
        if building is None and len({b.grid_id for b in estate.buildings}) == 1:
            grid = estate.buildings[0].grid  # the whole estate is one grid's
    if building is not None:
        grid = building.grid
    if grid is None and estate is None:
        if place is not None:
            place = _load_place(session, place.id)
            grid = place.grid
            community = grid.community
    if community is None and fallback_community_id is not None:
        community = session.get(Community, fallback_community_id)
    if community is None:
        community = session.scalars(select(Community).order_by(Community.id)).first()
    member = grid.members[0] if grid is not None and grid.members else None
    return Route(
        community=community,
        estate=estate,
        grid=grid,
        building=building,
        place=place,
        member=member,
        resolved=grid is not None,
    )


def _estate_or_place(session: Session, text: str, entities: dict[str, Any]) -> tuple[Estate | None, Place | None]:
    """The estate, or else the road or public place, that ``text`` names.

    Exact names first, estates and places together: when both are named, an
    estate with a building number wins, otherwise the one named last (the
    head of a Chinese place phrase comes last: 枫林苑门口的枫林路). Fuzzy
    matching only when nothing is named exactly, and never against estates
    when the text reads as a road (…路, …街, …大道) or the resident says it
    is not in an estate: 枫林路 is two characters from 枫林苑.
    """
    estates = list(session.scalars(select(Estate)))
    public = says_not_estate(text) and entities.get("building") is None
    exact_estate = None if public else _exact(text, estates)
    if exact_estate is not None and entities.get("building") is not None:
        return exact_estate[2], None  # 枫林苑3号楼: the roads need not be read
    places = list(session.scalars(select(Place)))
    exact_place = _exact(text, places)
    if exact_estate is not None and exact_place is not None:
        return (exact_estate[2], None) if exact_estate[0] > exact_place[0] else (None, exact_place[2])
    if exact_estate is not None:
        return exact_estate[2], None
    if exact_place is not None:
        return None, exact_place[2]
    if public or names_a_road(text):
        return None, _fuzzy(text, places)
    estate = _fuzzy(text, estates)
    return (estate, None) if estate is not None else (None, _fuzzy(text, places))


def _load_estate(session: Session, estate_id: int) -> Estate:
    """The matched estate with, in one query, what a route reads of it: its community, buildings, their grids, members.

    Lazy loading took a round trip for each of them (five statements a route
    in all, with the action server's event loop waiting on every one).
    """
    buildings = joinedload(Estate.buildings).joinedload(Building.grid)
    options = (joinedload(Estate.community), buildings.joinedload(Grid.members), buildings.joinedload(Grid.community))
    return session.scalars(select(Estate).where(Estate.id == estate_id).options(*options)).unique().one()


def _load_place(session: Session, place_id: int) -> Place:
    """The matched road or public place with, in one query, its grid and the grid's community and members."""
    grid = joinedload(Place.grid)
    options = (grid.joinedload(Grid.community), grid.joinedload(Grid.members))
    return session.scalars(select(Place).where(Place.id == place_id).options(*options)).unique().one()


def describe(where: Route) -> str:
    """The resolved place as a resident reads it: 枫林苑 3号楼（枫林社区第一网格）."""
    parts = []
    if where.estate is not None:
        parts.append(str(where.estate.name))
    if where.building is not None:
        parts.append(f"{where.building.number}号楼")
    if where.place is not None:
        parts.append(str(where.place.name))
    if where.grid is not None:
        return f"{' '.join(parts)}（{where.grid.name}）"
    return " ".join(parts)


def suggest_places(*, session: Session, text: str, limit: int = 3) -> list[str]:
    """Registry names that look most like what the resident wrote, for "您是说……吗".

    Every estate, road and public place name and alias is compared with the
    text; the official names of the closest few come back. When nothing is
    close at all, the estates (the commonest answer) are offered instead.
    A resident who says the place is not in an estate is offered roads and
    public places only.
    """
    public = says_not_estate(text)
    estates = [] if public else list(session.scalars(select(Estate)))
    rows: list[Estate | Place] = [*estates, *session.scalars(select(Place))]
    scored: dict[str, float] = {}
    for row in rows:
        for name in _names(row):
            ratio = difflib.SequenceMatcher(None, name, text).ratio()
            if any(ch in text for ch in name):
                ratio += 0.1 * sum(ch in text for ch in name) / len(name)
            scored[str(row.name)] = max(scored.get(str(row.name), 0.0), ratio)
    ranked = [name for name, score in sorted(scored.items(), key=lambda kv: -kv[1]) if score >= 0.25]
    if not ranked:
        fallback = Place if public else Estate
        ranked = [str(row.name) for row in session.scalars(select(fallback).order_by(fallback.id))]
    return ranked[:limit]


def department_for(*, session: Session, category: str) -> Department | None:
    """The department that owns a (public) category."""
    for department in session.scalars(select(Department).order_by(Department.id)):
        if category in (department.categories or []):
            return department
    return None
