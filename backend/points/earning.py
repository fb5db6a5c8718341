"""How residents earn points: a confirmed report, a rating, volunteer work a grid member logs.

The ticket and grid-member flows call these; each names its source event,
so the same report, rating or volunteer log never pays twice.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.errors import InvalidInput, NotFound
from backend.models import GridMember, Resident, Ticket
from backend.points.ledger import Award, award
from backend.triage.entities import mobile_number


def award_valid_report(*, session: Session, ticket: Ticket, actor: str, now: datetime) -> Award:
    """The handler confirmed the report was real and useful (the seeds' 移动探头): the reporter earns points."""
    resident = session.get(Resident, ticket.resident_id)
    assert resident is not None
    return award(
        session=session,
        resident=resident,
        rule_code="valid_report",
        source_kind="ticket",
        source_ref=str(ticket.number),
        actor=actor,
        role="system",
        now=now,
        reason=f"有效上报：工单 {ticket.number}",
    )


def award_rating(*, session: Session, ticket: Ticket, now: datetime) -> Award:
    """The resident rated a resolved ticket (评单)."""
    resident = session.get(Resident, ticket.resident_id)
    assert resident is not None
    return award(
        session=session,
        resident=resident,
        rule_code="rating",
        source_kind="rating",
        source_ref=str(ticket.number),
        actor=f"resident:{resident.code}",
        role="system",
        now=now,
        reason=f"评价已办结的工单 {ticket.number}",
    )


def find_resident(*, session: Session, reference: str) -> Resident:
    """A resident by their resident code (R1A2B3C) or by the mobile number they let us keep.

    Raises:
        NotFound: nobody matches (the same answer for a code and a phone).
    """
    reference = reference.strip().upper()
    phone = mobile_number(reference)
    if phone is not None:
        found = session.scalars(select(Resident).filter_by(phone=phone)).first()
    else:
        found = session.scalars(select(Resident).filter_by(code=reference)).first()
    if found is None:
        raise NotFound("没有找到这位居民：请核对居民码（形如 R1A2B3C）或手机号。")
    return found


def log_volunteer(
    *,
    session: Session,
    member_code: str,
    reference: str,
    hours: int,
    log_id: str,
    now: datetime,
    activity: str = "",
) -> Award:
    """A grid member logs volunteer hours for a resident; ``log_id`` identifies the log (a retry pays once).

    ``activity`` (optional, what the work was) goes into the entry's reason.

    The resident joins the member's community if they had none yet, so they
    appear in its monthly ranking.

    Raises:
        NotFound: unknown member or resident.
        InvalidInput: hours outside 1–12.
    """
    member = session.scalars(select(GridMember).filter_by(code=member_code)).first()
    if member is None:
        raise NotFound(f"没有这位网格员：{member_code}")
    if not 1 <= hours <= 12:
        raise InvalidInput("志愿服务时长要在 1 到 12 小时之间。")
    resident = find_resident(session=session, reference=reference)
    if resident.community_id is None:
        resident.community_id = member.grid.community_id
    what = f"：{activity.strip()}" if activity.strip() else ""
    return award(
        session=session,
        resident=resident,
        rule_code="volunteer_hour",
        source_kind="volunteer",
        source_ref=log_id,
        actor=f"grid_member:{member.code}",
        role="grid_member",
        now=now,
        quantity=hours,
        reason=f"志愿服务 {hours} 小时{what}（网格员 {member.name} 记录）",
    )
