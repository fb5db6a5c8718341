"""Console accounts, their sessions, and the audit trail of everything done in the console.

An account has one role and, for the roles that work a part of the
district, the part: community staff their community, a grid member their
grid member record (so their grid), department staff their department.
Passwords are stored only as Argon2id hashes. A session is a random token
in an HttpOnly cookie; only its SHA-256 is stored, with the CSRF token
every form must send back and the times that end it. The audit trail is
append-only: who did what to which thing, when, from where. Login
attempts are counted per username in :class:`LoginThrottle`, whose row is
locked while an attempt is counted, so parallel attempts cannot overrun it.
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, ForeignKey, Integer, String

from backend.models.base import Base, UTCDateTime, utcnow

ROLES = ("admin", "operator", "community_staff", "grid_member", "department")
ROLE_NAMES = {
    "admin": "管理员",
    "operator": "运营人员",
    "community_staff": "社区工作人员",
    "grid_member": "网格员",
    "department": "职能部门",
}


class ConsoleAccount(Base):
    """A person who logs in to the console."""

    __tablename__ = "console_accounts"
    id = Column(Integer, primary_key=True)
    username = Column(String(64), nullable=False, unique=True)
    display_name = Column(String(64), nullable=False)
    role = Column(String(32), nullable=False)
    password_hash = Column(String(256), nullable=False)
    community_id = Column(ForeignKey("communities.id"), nullable=True)
    member_id = Column(ForeignKey("grid_members.id"), nullable=True)
    department_code = Column(String(32), nullable=True)
    active = Column(Integer, nullable=False, default=1)
    created_at = Column(UTCDateTime(), nullable=False, default=utcnow)


class ConsoleSession(Base):
    """One login: the hash of the cookie's token, the CSRF token, and when it ends."""

    __tablename__ = "console_sessions"
    id = Column(Integer, primary_key=True)
    token_hash = Column(String(64), nullable=False, unique=True)
    account_id = Column(ForeignKey("console_accounts.id"), nullable=False, index=True)
    csrf_token = Column(String(64), nullable=False)
    created_at = Column(UTCDateTime(), nullable=False, default=utcnow)
    last_seen_at = Column(UTCDateTime(), nullable=False, default=utcnow)
    expires_at = Column(UTCDateTime(), nullable=False)
    ended_at = Column(UTCDateTime(), nullable=True)


class AuditEntry(Base):
    """One thing done in the console (or refused): never updated, never deleted."""

    __tablename__ = "audit_entries"
    id = Column(Integer, primary_key=True)
    at = Column(UTCDateTime(), nullable=False, default=utcnow, index=True)
    account_id = Column(ForeignKey("console_accounts.id"), nullable=True, index=True)
    username = Column(String(64), nullable=True)
    action = Column(String(64), nullable=False, index=True)
    target = Column(String(128), nullable=True)
    outcome = Column(String(16), nullable=False, default="ok")  # ok, refused, failed
    detail = Column(JSON, nullable=False, default=dict)
    client = Column(String(64), nullable=True)


class LoginThrottle(Base):
    """Login attempts for one username (known or not), and the lock they led to.

    ``failures`` counts the attempts of the current round, each counted
    before its password is checked; the round's last allowed attempt sets
    ``locked_until``. ``locks`` is how many locks came one after another,
    which picks the next lock's length (a day without attempts forgets them).
    A successful login takes back only its own count.
    """

    __tablename__ = "console_login_throttles"
    username = Column(String(64), primary_key=True)
    failures = Column(Integer, nullable=False, default=0)
    locks = Column(Integer, nullable=False, default=0)
    locked_until = Column(UTCDateTime(), nullable=True)
    last_attempt_at = Column(UTCDateTime(), nullable=False, index=True)
