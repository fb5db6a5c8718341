"""Console accounts and their sessions.

A session ends after :data:`IDLE` without a request or :data:`ABSOLUTE`
after login, whichever comes first, or at logout. The cookie holds a random
token; the database holds only its SHA-256, so a copy of the database does
not let anyone in. After :data:`MAX_FAILURES` wrong passwords for one
username within :data:`FAILURE_WINDOW`, that username cannot log in until
the window has passed (counted from the audit trail, so it holds across
processes and restarts).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from backend.console import audit
from backend.console.passwords import hash_password, needs_rehash, verify_password
from backend.errors import DomainError, InvalidInput, NotFound
from backend.models import AuditEntry, Community, ConsoleAccount, ConsoleSession, Department, GridMember
from backend.models.accounts import ROLES

IDLE = timedelta(hours=2)
ABSOLUTE = timedelta(hours=12)
MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)


class LoginRefused(DomainError):
    """Wrong username or password, a disabled account, or too many attempts (the message says which it may)."""


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


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


def _recent_failures(session: Session, username: str, now: datetime) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(
                AuditEntry.action == "login",
                AuditEntry.outcome == "refused",
                AuditEntry.username == username,
                AuditEntry.at > now - FAILURE_WINDOW,
            )
        )
        or 0
    )


@dataclass(frozen=True)
class NewSession:
    """What the browser gets: the cookie's token (shown once, never stored) and the account."""

    token: str
    account: ConsoleAccount
    expires_at: datetime


def log_in(*, session: Session, username: str, password: str, now: datetime, client: str | None) -> NewSession:
    """Check the password and open a session; every attempt is audited.

    The caller commits even when this raises, so a failed attempt's audit
    entry (which the lockout counts) is kept.

    Raises:
        LoginRefused: wrong credentials, disabled account, or too many recent failures.
    """
    name = username.strip().lower()[:64]
    if _recent_failures(session, name, now) >= MAX_FAILURES:
        audit.record(session=session, account=None, username=name, action="login", outcome="refused",
                     detail={"why": "locked"}, now=now, client=client)  # fmt: skip
        raise LoginRefused(f"这个账号登录失败次数太多，请 {int(FAILURE_WINDOW.total_seconds() // 60)} 分钟后再试。")
    account = session.scalars(select(ConsoleAccount).filter_by(username=name)).first()
    ok = verify_password(account.password_hash if account is not None else None, password)
    if account is None or not ok or not account.active:
        audit.record(session=session, account=None, username=name, action="login", outcome="refused",
                     detail={"why": "credentials" if account is None or not ok else "disabled"}, now=now,
                     client=client)  # fmt: skip
        raise LoginRefused("用户名或密码不对。")
    if needs_rehash(str(account.password_hash)):
        account.password_hash = hash_password(password)
    token = secrets.token_urlsafe(32)
    expires = now + ABSOLUTE
    session.add(
        ConsoleSession(
            token_hash=_token_hash(token),
            account_id=account.id,
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            last_seen_at=now,
            expires_at=expires,
        )
    )
    audit.record(session=session, account=account, action="login", now=now, client=client)
    return NewSession(token=token, account=account, expires_at=expires)


def current(*, session: Session, token: str | None, now: datetime) -> tuple[ConsoleAccount, ConsoleSession] | None:
    """The account and session behind a cookie, if it is still good; touching it keeps it alive."""
    if not token:
        return None
    row = session.scalars(select(ConsoleSession).filter_by(token_hash=_token_hash(token))).first()
    if row is None or row.ended_at is not None or row.expires_at <= now or row.last_seen_at + IDLE <= now:
        return None
    account = session.get(ConsoleAccount, row.account_id)
    if account is None or not account.active:
        return None
    row.last_seen_at = now
    return account, row


def log_out(*, session: Session, token: str | None, now: datetime, client: str | None = None) -> None:
    """End the session behind a cookie (a second logout does nothing)."""
    found = current(session=session, token=token, now=now)
    if found is None:
        return
    account, row = found
    row.ended_at = now
    audit.record(session=session, account=account, action="logout", now=now, client=client)


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
