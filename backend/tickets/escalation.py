"""吹哨报到's chain: grid → community → street → department, one level at a time.

A grid member's 吹哨 and a resident's 不满意 both send a ticket one level
up; the move is a status change to 已升级 with the reason on the timeline,
so the ticket's current level and owner are always clear. At the top, the
department that owns the category answers the whistle (报到,
:func:`report_in`): it takes the ticket over, and the ticket is 处理中 again
under that department's name.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path

import yaml
from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from backend.errors import DomainError, InvalidRegistry
from backend.models import Department, Ticket
from backend.settings import PROJECT_ROOT
from backend.tickets.lifecycle import OPEN_STATUSES
from backend.tickets.service import transition

LIMITS_FILE = PROJECT_ROOT / "config" / "escalation.yml"

ESCALATION_CHAIN = ("grid", "community", "street", "department")
LEVEL_NAMES = {"grid": "网格", "community": "社区", "street": "街道", "department": "职能部门"}


def next_level(level: str) -> str:
    """One level up the chain (the top stays at the top)."""
    index = ESCALATION_CHAIN.index(level) if level in ESCALATION_CHAIN else 0
    return ESCALATION_CHAIN[min(index + 1, len(ESCALATION_CHAIN) - 1)]


def escalate(*, session: Session, ticket: Ticket, actor: str, why: str, now: datetime) -> str:
    """Send the ticket one level up with the reason; returns the new level."""
    level = next_level(str(ticket.escalation_level))
    ticket.escalation_level = level
    transition(
        session=session, ticket=ticket, to="escalated", actor=actor, now=now, note=f"{why}，升级到{LEVEL_NAMES[level]}"
    )
    return level


def report_in(*, session: Session, ticket: Ticket, department_code: str, actor: str, now: datetime) -> Department:
    """A department answers the whistle (报到) and takes the ticket over; returns the department.

    Raises:
        DomainError: the ticket is not waiting at department level, or the department is unknown.
    """
    department = session.scalars(select(Department).filter_by(code=department_code)).first()
    if department is None:
        raise DomainError(f"没有代码为 {department_code} 的职能部门。")
    if ticket.escalation_level != "department" or ticket.status != "escalated":
        level = LEVEL_NAMES.get(str(ticket.escalation_level), "")
        raise DomainError(f"工单 {ticket.number} 没有在等职能部门报到（现在在{level}一级）。")
    ticket.department_code = department.code
    transition(
        session=session,
        ticket=ticket,
        to="in_progress",
        actor=actor,
        now=now,
        note=f"{department.name}报到，接手办理",
    )
    return department


def load_limits(path: Path = LIMITS_FILE) -> dict[str, timedelta | None]:
    """Hours allowed at each level, from ``config/escalation.yml``.

    Raises:
        InvalidRegistry: a level missing or a value that is not a positive number of hours or null.
    """
    try:
        raw = (yaml.safe_load(path.read_text(encoding="utf-8")) or {})["hours_at_level"]
        limits = {
            level: (timedelta(hours=float(raw[level])) if raw[level] is not None else None)
            for level in ESCALATION_CHAIN
        }
    except (OSError, KeyError, TypeError, ValueError, yaml.YAMLError) as exc:
        raise InvalidRegistry(f"{path.name} 格式不对：每一级都要写小时数或 null（{exc}）") from exc
    if any(limit is not None and limit <= timedelta(0) for limit in limits.values()):
        raise InvalidRegistry(f"{path.name}：小时数必须大于 0")
    return limits


@lru_cache(maxsize=1)
def default_limits() -> dict[str, timedelta | None]:
    """The project's limits, loaded once per process."""
    return load_limits()


def _at_level_since(ticket: Ticket) -> datetime:
    """When the ticket reached its current level: its last escalation, else its filing."""
    moves = [e.at for e in ticket.events if e.to_status == "escalated"]
    return max(moves) if moves else ticket.created_at


def escalate_overdue(
    *, session: Session, now: datetime, limits: dict[str, timedelta | None] | None = None
) -> list[tuple[str, str]]:
    """Send every open ticket that outstayed its level's limit one level up; (number, new level) pairs.

    One level per call: a ticket that is days late climbs one step now and
    the next step only after the next level's own limit.
    """
    limits = limits or default_limits()
    moved: list[tuple[str, str]] = []
    # Runs every minute. Only tickets old enough to have outstayed their level's limit can be late (a ticket
    # reached its level no earlier than it was filed), so only those are read, their timelines in one query,
    # not one per ticket. Reading every open ticket each minute made the worker's memory grow with the
    # number of open tickets (docs/benchmark.md).
    candidates = [
        (Ticket.escalation_level == level) & (Ticket.created_at <= now - limit)
        for level, limit in limits.items()
        if limit is not None
    ]
    if not candidates:
        return moved
    open_tickets = (
        select(Ticket).where(Ticket.status.in_(OPEN_STATUSES), or_(*candidates)).options(selectinload(Ticket.events))
    )
    for ticket in session.scalars(open_tickets):
        limit = limits.get(str(ticket.escalation_level))
        if limit is None or now - _at_level_since(ticket) <= limit:
            continue
        hours = int(limit.total_seconds() // 3600)
        level = escalate(
            session=session,
            ticket=ticket,
            actor="system",
            why=f"在{LEVEL_NAMES[str(ticket.escalation_level)]}超过 {hours} 小时未办结，自动吹哨",
            now=now,
        )
        moved.append((str(ticket.number), level))
    return moved
