"""The audit trail: one row for every console action, allowed or refused, and every login."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.models import AuditEntry, ConsoleAccount


def record(
    *,
    session: Session,
    account: ConsoleAccount | None,
    action: str,
    now: datetime,
    target: str | None = None,
    outcome: str = "ok",
    detail: dict[str, Any] | None = None,
    client: str | None = None,
    username: str | None = None,
) -> AuditEntry:
    """Append one entry (in the caller's transaction, so it commits with what it describes)."""
    entry = AuditEntry(
        at=now,
        account_id=account.id if account is not None else None,
        username=(account.username if account is not None else username),
        action=action,
        target=target,
        outcome=outcome,
        detail=detail or {},
        client=(client or "")[:64] or None,
    )
    session.add(entry)
    session.flush()
    return entry


def recent(*, session: Session, limit: int = 100, action: str | None = None) -> list[AuditEntry]:
    """The newest entries first."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if action:
        query = query.where(AuditEntry.action == action)
    return list(session.scalars(query))
