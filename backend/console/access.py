"""Who may do what in the console, and which tickets each account sees.

Roles (:data:`backend.models.accounts.ROLES`) map to permissions in one
table, :data:`PERMISSIONS`; every route names the permission it needs. On
top of that, tickets are scoped: community staff see their community's,
a grid member their grid's, a department the ones it owns or that wait at
department level in its categories. A ticket outside an account's scope
answers like one that does not exist.
"""

from __future__ import annotations

from sqlalchemy import false, or_, select, true
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from backend.models import ConsoleAccount, Department, GridMember, Ticket

PERMISSIONS: dict[str, frozenset[str]] = {
    "console.home": frozenset({"admin", "operator", "community_staff", "grid_member", "department"}),
    "tickets.view": frozenset({"admin", "community_staff", "grid_member", "department"}),
    "tickets.work": frozenset({"admin", "community_staff", "grid_member"}),  # progress, resolve, escalate
    "tickets.dispatch": frozenset({"admin", "community_staff"}),  # (re)assign to a grid member, reopen
    "tickets.report_in": frozenset({"admin", "department"}),  # 报到 at department level, and resolve after it
    # 公开摘要: what Open311 shows the public of a ticket; everyone who works tickets, within their scope.
    "tickets.publish": frozenset({"admin", "community_staff", "grid_member", "department"}),
    "registry.view": frozenset({"admin", "community_staff", "operator"}),
    "registry.edit": frozenset({"admin"}),
    "stats.view": frozenset({"admin", "operator", "community_staff"}),
    "conversations.view": frozenset({"admin", "operator"}),  # masked transcripts and their export
    "conversations.flag": frozenset({"admin", "operator"}),  # put a message into the review queue
    "review.label": frozenset({"admin"}),
    "models.manage": frozenset({"admin"}),
    "points.view": frozenset({"admin", "community_staff"}),
    "points.adjust": frozenset({"admin"}),
    "points.volunteer": frozenset({"admin", "community_staff", "grid_member"}),  # 记录志愿 for a resident
    "points.catalogue": frozenset({"admin", "community_staff"}),  # 爱心超市 items, stock, 下架 / 恢复上架
    "audit.view": frozenset({"admin"}),
    "accounts.manage": frozenset({"admin"}),
}


def allowed(account: ConsoleAccount, permission: str) -> bool:
    """Whether the account's role carries ``permission`` (an unknown permission is never allowed)."""
    return bool(account.active) and account.role in PERMISSIONS.get(permission, frozenset())


def ticket_filter(session: Session, account: ConsoleAccount) -> ColumnElement[bool]:
    """The WHERE clause that limits tickets to the account's scope."""
    if account.role == "admin":
        return true()
    if account.role == "community_staff" and account.community_id is not None:
        return Ticket.community_id == account.community_id
    if account.role == "grid_member" and account.member_id is not None:
        member = session.get(GridMember, account.member_id)
        return Ticket.grid_id == member.grid_id if member is not None else false()
    if account.role == "department" and account.department_code:
        department = session.scalars(select(Department).filter_by(code=account.department_code)).first()
        categories = list(department.categories or []) if department is not None else []
        waiting = (Ticket.escalation_level == "department") & Ticket.category.in_(categories)
        return or_(Ticket.department_code == account.department_code, waiting)
    return false()


def ticket_in_scope(session: Session, account: ConsoleAccount, number: str) -> Ticket | None:
    """The ticket if this account may see it, else None (the same answer as a missing one)."""
    return session.scalars(
        select(Ticket).where(Ticket.number == number.strip().upper(), ticket_filter(session, account))
    ).first()
