"""Logging in to the console and the session cookie: open a session after a right password, find it, end it.

A session ends after :data:`IDLE` without a request or :data:`ABSOLUTE`
after login, whichever comes first, or at logout. The cookie holds a random
token; the database holds only its SHA-256, so a copy of the database does
not let anyone in.

Attempts are counted and locked out by :mod:`backend.console.login_lockout`
before any password is checked.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from backend.console import audit
from backend.console.login_lockout import Attempt, LoginRefused, begin_login, prune_throttles, uncount
from backend.console.passwords import hash_password, needs_rehash, verify_password
from backend.models import ConsoleAccount, ConsoleSession

IDLE = timedelta(hours=2)
ABSOLUTE = timedelta(hours=12)
WRONG = "用户名或密码不对。"


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class NewSession:
    """What the browser gets: the cookie's token (shown once, never stored) and the account."""

    token: str
    account: ConsoleAccount
    expires_at: datetime


def finish_login(
    *, session: Session, attempt: Attempt, password_ok: bool, password: str, now: datetime, client: str | None
) -> NewSession:
    """Open a session after a right password (its attempt no longer counts), or refuse; audited.

    Raises:
        LoginRefused: wrong credentials or a disabled account (the same answer).
    """
    account = session.get(ConsoleAccount, attempt.account_id) if attempt.account_id is not None else None
    if account is None or not password_ok or not account.active:
        why = "credentials" if account is None or not password_ok else "disabled"
        audit.record(session=session, account=None, username=attempt.username, action="login", outcome="refused",
                     detail={"why": why}, now=now, client=client)  # fmt: skip
        raise LoginRefused(WRONG)
    uncount(session, attempt)
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


def log_in(
    *, sessions: sessionmaker[Session], username: str, password: str, now: datetime, client: str | None
) -> NewSession:
    """Count the attempt, check the password, and open a session: three steps, two short transactions.

    The count is committed before the check, so a parallel attempt sees it;
    no transaction stays open during the check. The caller holds a slot of
    :data:`backend.console.passwords.CHECKS`.

    Raises:
        LoginRefused: locked, wrong credentials, or a disabled account (each audited).
    """
    refusal: LoginRefused | None = None
    with sessions.begin() as db:
        try:
            attempt = begin_login(session=db, username=username, now=now, client=client)
        except LoginRefused as exc:
            refusal = exc  # caught inside the transaction: the refusal's audit entry is kept
    if refusal is not None:
        raise refusal
    ok = verify_password(attempt.password_hash, password)
    with sessions.begin() as db:
        try:
            opened = finish_login(session=db, attempt=attempt, password_ok=ok, password=password, now=now,
                                  client=client)  # fmt: skip
        except LoginRefused as exc:
            refusal = exc
    if refusal is not None:
        raise refusal
    with sessions.begin() as db:  # its own transaction: it never waits on a row an attempt holds
        prune_throttles(session=db, now=now)
    return opened


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
