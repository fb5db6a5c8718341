"""Which of a resident's tickets a message without a number is about ("路灯修好没啊？？").

A resident asking how "the streetlight" is going, or rating "the light" in
words, names the thing, not the ticket. :func:`things_named` reads the
things a message names (路灯, 电梯, 漏水 …) and the categories they belong
to; :func:`tickets_about` keeps the tickets that fit them. Ticket numbers,
statuses and what a resident may see stay with :mod:`backend.tickets.service`
and :mod:`backend.tickets.visibility`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from backend.models import Resident, Ticket, TicketFollower
from backend.tickets.lifecycle import OPEN_STATUSES

logger = logging.getLogger(__name__)

# The words residents use for a thing, and the categories a ticket about it is filed under.
# Longer words are read first and taken out of the text, so 红绿灯 is traffic, never a streetlight.
THING_WORDS: dict[str, tuple[str, ...]] = {
    "路灯": ("streetlight",),
    "路登": ("streetlight",),
    "红绿灯": ("traffic",),
    "信号灯": ("traffic",),
    "楼道灯": ("building_common",),
    "声控灯": ("building_common",),
    "灯": ("streetlight", "building_common", "home_repair"),
    "电梯": ("elevator",),
    "电悌": ("elevator",),
    "单元门": ("building_common",),
    "门禁": ("building_common", "property_service"),
    "楼道": ("building_common", "estate_sanitation"),
    "井盖": ("road",),
    "路面": ("road",),
    "坑": ("road",),
    "人行道": ("road", "street_order"),
    "积水": ("road", "estate_sanitation", "utility"),
    "垃圾": ("street_sanitation", "estate_sanitation"),
    "垃圾桶": ("street_sanitation", "estate_sanitation"),
    "卫生": ("street_sanitation", "estate_sanitation"),
    "停车": ("estate_parking", "traffic"),
    "车位": ("estate_parking",),
    "乱停": ("estate_parking", "traffic"),
    "占道": ("street_order", "traffic"),
    "摊": ("street_order",),
    "噪音": ("pollution", "civility", "neighbor_dispute"),
    "吵": ("pollution", "civility", "neighbor_dispute"),
    "油烟": ("pollution",),
    "异味": ("pollution", "estate_sanitation"),
    "臭": ("pollution", "estate_sanitation"),
    "停水": ("utility",),
    "停电": ("utility",),
    "水压": ("utility",),
    "暖气": ("utility",),
    "燃气": ("utility",),
    "漏水": ("home_repair", "building_common", "utility"),
    "渗水": ("home_repair", "building_common"),
    "水管": ("home_repair", "utility"),
    "下水道": ("home_repair", "estate_sanitation", "road"),
    "马桶": ("home_repair",),
    "物业": ("property_service",),
    "树": ("other_public", "estate_sanitation"),
    "邻居": ("neighbor_dispute",),
    "楼上": ("neighbor_dispute",),
}


@dataclass(frozen=True)
class Named:
    """The things a message names, and the categories tickets about them are filed under."""

    words: tuple[str, ...]
    categories: frozenset[str]

    def __bool__(self) -> bool:
        """Whether the message names anything at all."""
        return bool(self.words)


def things_named(text: str) -> Named:
    """The things ``text`` names (longest words first) and their categories."""
    words: list[str] = []
    categories: set[str] = set()
    for word in sorted(THING_WORDS, key=len, reverse=True):
        if word in text:
            words.append(word)
            categories.update(THING_WORDS[word])
            text = text.replace(word, "　")
    return Named(words=tuple(words), categories=frozenset(categories))


def fits(ticket: Ticket, named: Named, *, resident: Resident) -> bool:
    """Whether the ticket is about what the message names (any ticket fits a message that names nothing).

    A ticket fits by its category; the resident's own ticket also fits when
    its description mentions the thing (楼道灯 filed as 公共设施 still fits "灯").
    """
    if not named:
        return True
    if str(ticket.category) in named.categories:
        return True
    own = ticket.resident_id == resident.id
    return own and any(word in str(ticket.description or "") for word in named.words)


def open_tickets_for_resident(*, session: Session, resident: Resident, limit: int = 20) -> list[Ticket]:
    """The resident's own and followed tickets that are still being handled, newest first."""
    followed = select(TicketFollower.ticket_id).where(TicketFollower.resident_id == resident.id)
    return list(
        session.scalars(
            select(Ticket)
            .where(
                or_(Ticket.resident_id == resident.id, Ticket.id.in_(followed)),
                Ticket.status.in_(sorted(OPEN_STATUSES)),
            )
            .order_by(Ticket.created_at.desc(), Ticket.id.desc())
            .limit(limit)
        )
    )


def tickets_about(tickets: Iterable[Ticket], named: Named, *, resident: Resident) -> list[Ticket]:
    """The tickets that fit what the message names, in the given order."""
    return [t for t in tickets if fits(t, named, resident=resident)]
