"""Console accounts: opening one with the scope its role needs, and disabling one (its sessions end at once).

The first admin is made from the command line (``python -m backend accounts add``);
logging in is :mod:`backend.console.login`, the lockout :mod:`backend.console.login_lockout`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from backend.console.passwords import hash_password
from backend.errors import InvalidInput, NotFound
from backend.models import Community, ConsoleAccount, ConsoleSession, Department, GridMember
from backend.models.accounts import ROLES


def create_account(
    *,
    session: Session,
    username: str,
    display_name: str,
    role: str,
    password: str,
    now: datetime,
    community: str | None = None,
    member: str | None = None,
    department: str | None = None,
) -> ConsoleAccount:
    """Add an account with the scope its role needs.

    Raises:
        InvalidInput: unknown role, a scope missing or unknown, a weak password, a taken username.
    """
    username = username.strip().lower()
    if not username or len(username) > 64 or not all(c.isalnum() or c in "._-" for c in username):
        raise InvalidInput("用户名只能用字母、数字和 . _ -。")
    if role not in ROLES:
        raise InvalidInput(f"角色只能是：{'、'.join(ROLES)}。")
    if session.scalars(select(ConsoleAccount).filter_by(username=username)).first() is not None:
        raise InvalidInput(f"用户名 {username} 已经有人用了。")
    account = ConsoleAccount(
        username=username,
        display_name=display_name.strip() or username,
        role=role,
        password_hash=hash_password(password),
        active=1,
        created_at=now,
    )
    if role == "community_staff":
        row = session.scalars(select(Community).filter_by(code=community or "")).first()
        if row is None:
            raise InvalidInput("社区工作人员要指定社区代码（--community），比如 fl。")
        account.community_id = row.id
    elif role == "grid_member":
        grid_member = session.scalars(select(GridMember).filter_by(code=member or "")).first()
        if grid_member is None:
            raise InvalidInput("网格员账号要指定网格员代码（--member），比如 gm-fl-01。")
        account.member_id = grid_member.id
    elif role == "department":
        if session.scalars(select(Department).filter_by(code=department or "")).first() is None:
            raise InvalidInput("职能部门账号要指定部门代码（--department），比如 city-mgmt。")
        account.department_code = department
    session.add(account)
    session.flush()
    return account


def disable(*, session: Session, username: str, now: datetime) -> ConsoleAccount:
    """Disable an account and end its sessions at once.

    Raises:
        NotFound: no such username.
    """
    account = session.scalars(select(ConsoleAccount).filter_by(username=username.strip().lower())).first()
    if account is None:
        raise NotFound(f"没有账号 {username}。")
    account.active = 0
    session.execute(
        update(ConsoleSession)
        .where(ConsoleSession.account_id == account.id, ConsoleSession.ended_at.is_(None))
        .values(ended_at=now)
    )
    return account
