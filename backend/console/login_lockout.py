"""The console's login lockout: every attempt counted per username before its password is checked.

Login attempts are counted per username, known or not, in
:class:`~backend.models.accounts.LoginThrottle`: each attempt is counted
under that row's lock *before* its password is checked, so however many
attempts race, at most :data:`MAX_FAILURES` passwords are checked before
the username is locked. A lock ends by itself (:data:`LOCK_DELAYS`, longer
each time the attempts go on), or when an admin lifts it (:func:`unlock`);
attempts while locked are refused without a check and do not lengthen it.
A right password takes back its own count only: it gives wrong ones sent
beside it no fresh allowance, and logging in often never locks anyone.
An unknown username goes the same way, with the same Argon2 work and the
same answers, so neither timing nor replies tell which accounts exist.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from backend.console import audit
from backend.errors import DomainError, NotFound
from backend.models import ConsoleAccount
from backend.models.accounts import LoginThrottle

MAX_FAILURES = 5  # password checks per username before it is locked
FAILURE_WINDOW = timedelta(minutes=15)  # failures older than this no longer count toward a lock
LOCK_DELAYS = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=15), timedelta(minutes=60))
LOCKS_FORGOTTEN_AFTER = timedelta(hours=24)  # this long without an attempt, the next lock is the shortest again


class LoginRefused(DomainError):
    """Wrong username or password, a disabled account, or too many attempts (the message says which it may)."""


def lock_message(seconds: float) -> str:
    """What a locked username is told (the same for an account and for a name nobody has)."""
    return f"这个账号登录失败次数太多，已暂时锁定，请 {max(1, math.ceil(seconds / 60))} 分钟后再试，或请管理员解锁。"


def _throttle_row(session: Session, name: str, now: datetime) -> LoginThrottle:
    """The username's row, made if missing, locked for the rest of the transaction.

    The INSERT comes first: on SQLite it takes the database's write lock at
    once (so the read after it sees the latest count and nobody else can
    change it), on PostgreSQL it waits for a parallel insert of the same
    name; ``FOR UPDATE`` then locks the row on PostgreSQL. Elsewhere here a
    read ``FOR UPDATE`` alone holds the row: on SQLite :mod:`backend.db`
    takes the write lock for it.
    """
    dialect = session.get_bind().dialect.name
    values = {"username": name, "failures": 0, "locks": 0, "last_attempt_at": now}
    while True:
        if dialect == "postgresql":
            session.execute(postgresql.insert(LoginThrottle).values(**values).on_conflict_do_nothing())
        elif dialect == "sqlite":
            session.execute(sqlite.insert(LoginThrottle).values(**values).on_conflict_do_nothing())
        elif session.get(LoginThrottle, name) is None:  # another database: a plain insert (a race raises)
            session.add(LoginThrottle(**values))
            session.flush()
        row = session.scalars(
            select(LoginThrottle)
            .where(LoginThrottle.username == name)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).first()
        if row is not None:  # None only when a prune deleted the old row between the two statements
            return row


@dataclass(frozen=True)
class Attempt:
    """One counted login attempt: what its password is checked against, and the lock counting it set."""

    username: str
    account_id: int | None
    password_hash: str | None
    locked_until: datetime | None = None


def begin_login(*, session: Session, username: str, now: datetime, client: str | None) -> Attempt:
    """Count one attempt for ``username`` under its row lock, before any password is checked.

    The caller commits at once (even when this raises: the refusal's audit
    entry is kept) and checks the password only after.

    Raises:
        LoginRefused: the username is locked (no password is checked).
    """
    name = username.strip().lower()[:64]
    row = _throttle_row(session, name, now)
    if row.locked_until is not None and row.locked_until > now:
        audit.record(session=session, account=None, username=name, action="login", outcome="refused",
                     detail={"why": "locked"}, now=now, client=client)  # fmt: skip
        raise LoginRefused(lock_message((row.locked_until - now).total_seconds()))
    if row.last_attempt_at <= now - LOCKS_FORGOTTEN_AFTER:
        row.locks = 0
    if row.locked_until is not None or row.last_attempt_at <= now - FAILURE_WINDOW:
        row.failures, row.locked_until = 0, None  # a lock that has ended, or failures too old to count
    row.failures += 1
    row.last_attempt_at = now
    locked_until = None
    if row.failures >= MAX_FAILURES:  # the last check allowed: whatever it finds, the next attempts wait
        row.locked_until = locked_until = now + LOCK_DELAYS[min(row.locks, len(LOCK_DELAYS) - 1)]
        row.locks += 1
        row.failures = 0
    account = session.scalars(select(ConsoleAccount).filter_by(username=name)).first()
    return Attempt(
        username=name,
        account_id=account.id if account is not None else None,
        password_hash=str(account.password_hash) if account is not None else None,
        locked_until=locked_until,
    )


def uncount(session: Session, attempt: Attempt) -> None:
    """Take back a successful attempt's count (and the lock it set), nothing more.

    The failures counted beside it stay until their window passes: a right
    password does not give parallel wrong ones a fresh allowance.
    """
    row = session.scalars(
        select(LoginThrottle).where(LoginThrottle.username == attempt.username).with_for_update()
    ).first()
    if row is None:  # an admin unlocked it meanwhile
        return
    if attempt.locked_until is not None and row.locked_until == attempt.locked_until:
        row.locked_until, row.locks, row.failures = None, max(0, row.locks - 1), MAX_FAILURES - 1
    elif row.failures > 0:
        row.failures -= 1
    if row.failures == 0 and row.locks == 0 and row.locked_until is None:
        session.delete(row)


def locked_usernames(*, session: Session, now: datetime) -> list[LoginThrottle]:
    """Usernames locked now or with failures counting toward a lock, newest attempt first."""
    return list(
        session.scalars(
            select(LoginThrottle)
            .where(
                or_(
                    LoginThrottle.locked_until > now,
                    (LoginThrottle.failures > 0) & (LoginThrottle.last_attempt_at > now - FAILURE_WINDOW),
                )
            )
            .order_by(LoginThrottle.last_attempt_at.desc())
            .limit(200)
        )
    )


def unlock(
    *, session: Session, username: str, now: datetime, by: ConsoleAccount | None, by_name: str | None = None,
    client: str | None = None,
) -> bool:  # fmt: skip
    """Lift a username's lock and forget its failures (an admin's act, from the console or the CLI); audited.

    Returns whether it was locked.

    Raises:
        NotFound: neither an account nor any attempts under that name.
    """
    name = username.strip().lower()[:64]
    row = session.scalars(select(LoginThrottle).where(LoginThrottle.username == name).with_for_update()).first()
    if row is None and session.scalars(select(ConsoleAccount).filter_by(username=name)).first() is None:
        raise NotFound(f"没有账号 {name}。")
    was_locked = row is not None and row.locked_until is not None and row.locked_until > now
    if row is not None:
        session.delete(row)
    audit.record(session=session, account=by, username=by_name, action="account.unlock", target=name,
                 detail={"was_locked": was_locked}, now=now, client=client)  # fmt: skip
    return was_locked


def prune_throttles(*, session: Session, now: datetime) -> int:
    """Forget usernames with no lock and no attempt for :data:`LOCKS_FORGOTTEN_AFTER` (made-up names pile up)."""
    result = session.execute(
        delete(LoginThrottle).where(
            LoginThrottle.last_attempt_at <= now - LOCKS_FORGOTTEN_AFTER,
            or_(LoginThrottle.locked_until.is_(None), LoginThrottle.locked_until <= now),
        )
    )
    return int(result.rowcount or 0)
