"""Points work from the console: a thin layer over the ledger, earning and ranking services.

Nothing here writes a ledger row itself: balances come from
:func:`backend.points.ledger.balance`, adjustments from
:func:`~backend.points.ledger.adjust`, volunteer hours from
:func:`backend.points.earning.log_volunteer`, the ranking from
:mod:`backend.points.ranking`. This module adds the console's scope:

- A resident belongs to the community in ``Resident.community_id`` — the
  registry's demo residents carry it, a volunteer log sets it when the
  resident had none (the member's community), and the monthly ranking and
  the 爱心超市 use the same column. Community staff see only the residents
  of their community (``account.community_id``); a grid member's community
  is their grid's. A resident outside the account's community — or, for
  community staff, one with no community yet — answers like a missing one.
- Admins see every resident and every community's catalogue.

The 爱心超市 shelf (items, stock, 下架 / 恢复上架) is :mod:`backend.points.catalogue_work`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.console.ticket_work import actor_of
from backend.dates import day
from backend.errors import InvalidInput, NotFound
from backend.models import Community, ConsoleAccount, Grid, GridMember, PointsRule, Resident
from backend.models.ledger import PointsEntry
from backend.points import earning, ledger, statement
from backend.points.ranking import Rank, monthly_ranking, this_month
from backend.privacy import mask_phone

MISSING = "没有找到这位居民：请核对居民码（形如 R1A2B3C）或手机号。"
SOURCE_NAMES = {
    "ticket": "工单",
    "rating": "评价",
    "volunteer": "志愿服务",
    "activity": "活动",
    "redemption": "爱心超市兑换",
    "adjustment": "人工调整",
    "expiry": "积分到期",
}
REASON_MAX = 1000
ACTIVITY_MAX = 100
REF = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


@dataclass(frozen=True)
class Line:
    """One ledger entry as the console shows it."""

    day: str
    amount: int
    rule: str
    reason: str
    source: str
    actor: str


@dataclass(frozen=True)
class Ledger:
    """A resident's balance (the sum of the ledger) and their entries, newest first."""

    code: str
    name: str
    phone: str  # masked
    community: str
    balance: int
    lines: list[Line]


def community_of(session: Session, account: ConsoleAccount) -> int | None:
    """The community an account works in; None for an admin (all of them).

    Raises:
        NotFound: a scoped account without its community (nothing is in scope).
    """
    if account.role == "admin":
        return None
    if account.role == "community_staff" and account.community_id is not None:
        return int(account.community_id)
    if account.role == "grid_member" and account.member_id is not None:
        member = session.get(GridMember, account.member_id)
        grid = session.get(Grid, member.grid_id) if member is not None else None
        if grid is not None:
            return int(grid.community_id)
    raise NotFound("您的账号还没有关联社区，请联系管理员。")


def in_scope(session: Session, account: ConsoleAccount, resident: Resident) -> bool:
    """Whether the account may see this resident's points."""
    scope = community_of(session, account)
    return scope is None or resident.community_id == scope


def find(*, session: Session, account: ConsoleAccount, reference: str) -> Resident:
    """A resident by code or phone, if in the account's scope (else the same answer as a missing one).

    Raises:
        NotFound: nobody matches, or the resident is outside the account's community.
    """
    if not reference.strip() or len(reference) > 64:
        raise NotFound(MISSING)
    resident = earning.find_resident(session=session, reference=reference)
    if not in_scope(session, account, resident):
        raise NotFound(MISSING)
    return resident


def ledger_of(*, session: Session, resident: Resident, limit: int = 200) -> Ledger:
    """The resident's balance and latest entries, with each rule's Chinese name."""
    rules = {str(r.code): str(r.name) for r in session.scalars(select(PointsRule))}
    community = session.get(Community, resident.community_id) if resident.community_id is not None else None
    lines = [
        Line(
            day=day(e.created_at),
            amount=int(e.amount),
            rule=rules.get(str(e.rule_code), "") if e.rule_code else SOURCE_NAMES.get(str(e.source_kind), ""),
            reason=str(e.reason),
            source=SOURCE_NAMES.get(str(e.source_kind), str(e.source_kind)),
            actor=str(e.actor),
        )
        for e in statement.history(session=session, resident=resident, limit=limit)
    ]
    return Ledger(
        code=str(resident.code),
        name=str(resident.name or ""),
        phone=mask_phone(str(resident.phone)) if resident.phone else "未留",
        community=str(community.name) if community is not None else "未登记",
        balance=ledger.balance(session=session, resident=resident),
        lines=lines,
    )


def adjust(
    *, session: Session, account: ConsoleAccount, resident: Resident, amount: int, reason: str, ref: str, now: datetime
) -> PointsEntry:
    """An admin's adjustment through the ledger; ``ref`` (from the form) makes a resubmission count once.

    Raises:
        InvalidInput: no reason, too long a reason, a zero or huge amount, a bad or reused ref.
        NotEnoughPoints: the deduction would take the balance below zero (nothing changes).
    """
    if not REF.match(ref or ""):
        raise InvalidInput("调整编号不对，请刷新页面后重新填写。")
    if len(reason) > REASON_MAX:
        raise InvalidInput(f"原因请写在 {REASON_MAX} 字以内。")
    earlier = session.scalars(select(PointsEntry).filter_by(idempotency_key=f"adjustment:{ref}")).first()
    if earlier is not None:
        if earlier.resident_id != resident.id:
            raise InvalidInput("调整编号已用过，请刷新页面后重新填写。")
        return earlier
    if amount < 0 and reason.strip():
        have = ledger.balance(session=session, resident=resident)
        if have + amount < 0:
            raise ledger.NotEnoughPoints(
                f"不能扣减 {-amount} 分：这位居民现在只有 {have} 分，积分不能扣成负数。请核对后再调整。"
            )
    return ledger.adjust(
        session=session, resident=resident, amount=amount, reason=reason, actor=actor_of(account), ref=ref, now=now
    )


def volunteer_members(*, session: Session, account: ConsoleAccount) -> list[GridMember]:
    """The grid members an account may log volunteer work as (a grid member: only themself)."""
    if account.role == "grid_member":
        member = session.get(GridMember, account.member_id) if account.member_id is not None else None
        return [member] if member is not None else []
    query = select(GridMember).join(Grid).order_by(GridMember.code)
    try:
        scope = community_of(session, account)
    except NotFound:
        return []  # an account without its community: nobody to log as
    if scope is not None:
        query = query.where(Grid.community_id == scope)
    return list(session.scalars(query))


def log_volunteer(
    *,
    session: Session,
    account: ConsoleAccount,
    reference: str,
    hours: int,
    activity: str,
    log_id: str,
    member_code: str,
    now: datetime,
) -> ledger.Award:
    """Volunteer hours through the earning service, as the account's grid member (or one they pick).

    A grid member always logs as themself; admins and community staff name the
    grid member who saw the work done (community staff: one of their community).
    The resident must be in the account's community or have none yet.

    Raises:
        NotFound: unknown or out-of-scope resident or member.
        InvalidInput: hours, activity or log id not usable; a log id already used for someone else.
        CapReached: nothing left of this month's cap.
    """
    if not REF.match(log_id or ""):
        raise InvalidInput("记录编号不对，请刷新页面后重新填写。")
    if len(activity) > ACTIVITY_MAX:
        raise InvalidInput(f"活动内容请写在 {ACTIVITY_MAX} 字以内。")
    members = volunteer_members(session=session, account=account)
    if account.role == "grid_member":
        member = members[0] if members else None
    else:
        member = next((m for m in members if m.code == member_code.strip()), None)
    if member is None:
        raise NotFound("请选择记录这次志愿服务的网格员（本社区的）。")
    if not reference.strip() or len(reference) > 64:
        raise NotFound(MISSING)
    resident = earning.find_resident(session=session, reference=reference)
    scope = community_of(session, account)
    if scope is not None and resident.community_id is not None and resident.community_id != scope:
        raise NotFound(MISSING)
    result = earning.log_volunteer(
        session=session,
        member_code=str(member.code),
        reference=str(resident.code),
        hours=hours,
        log_id=log_id,
        now=now,
        activity=activity,
    )
    if result.duplicate and result.entry.resident_id != resident.id:
        raise InvalidInput("记录编号已用过，请刷新页面后重新填写。")
    return result


def volunteer_message(result: ledger.Award) -> str:
    """What the staff member is told after a volunteer log."""
    if result.duplicate:
        return f"这条志愿记录已经记过了（{result.entry.amount:+d} 分），没有重复计分。"
    text = f"已记分：{result.entry.amount:+d} 分。"
    if result.capped:
        text += "本月志愿服务积分已到上限，这次只计了上限内的部分。"
    return text


def communities(*, session: Session, account: ConsoleAccount) -> list[Community]:
    """The communities an account may pick (catalogue, ranking)."""
    scope = community_of(session, account)
    query = select(Community).order_by(Community.code)
    if scope is not None:
        query = query.where(Community.id == scope)
    return list(session.scalars(query))


def community_for(*, session: Session, account: ConsoleAccount, code: str) -> Community:
    """The community asked for (empty: the account's own, or the first for an admin), if in scope.

    Raises:
        NotFound: no such community in the account's scope.
    """
    mine = communities(session=session, account=account)
    if not code:
        if not mine:
            raise NotFound("还没有社区。")
        return mine[0]
    found = next((c for c in mine if c.code == code.strip()), None)
    if found is None:
        raise NotFound("没有这个社区，或不在您负责的范围内。")
    return found


def month_of(text: str, now: datetime) -> str:
    """'2026-11' as asked, or this month.

    Raises:
        InvalidInput: not a YYYY-MM month.
    """
    if not text:
        return this_month(now)
    if not MONTH.match(text.strip()):
        raise InvalidInput("月份请写成 2026-11 这样的格式。")
    return text.strip()


def ranking(*, session: Session, community: Community, month: str) -> list[Rank]:
    """The community's 一月一评比 for the month (names masked by the ranking service)."""
    return monthly_ranking(session=session, community_id=int(community.id), month=month)
