"""Residents: find or create by channel identity; demo residents from a file."""

from __future__ import annotations

import secrets
from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from backend.errors import InvalidRegistry
from backend.models import Community, Resident
from backend.models.base import utcnow
from backend.services.upsert import upsert

# Built once: every action looks the resident up first, and building the
# statement and its cache key on every call showed in the profiles (docs/benchmark.md).
_BY_IDENTITY = select(Resident).where(
    Resident.channel == bindparam("channel"), Resident.sender_id == bindparam("sender")
)


def split_sender(sender: str) -> tuple[str, str]:
    """Channel and channel id of a Rasa sender id (``web:<id>``, ``telegram:<id>``; no prefix: ``rest``)."""
    channel, _, rest = sender.partition(":")
    if not rest:
        return "rest", sender
    return channel[:16], rest


def find_resident(*, session: Session, channel: str, sender_id: str) -> Resident | None:
    """The resident behind a channel identity, or ``None``: for reads, which must not create one."""
    return session.scalars(_BY_IDENTITY, {"channel": channel, "sender": sender_id}).one_or_none()


def get_or_create_resident(*, session: Session, channel: str, sender_id: str) -> Resident:
    """The resident behind a channel identity, created on first contact without personal data."""
    resident = session.scalars(_BY_IDENTITY, {"channel": channel, "sender": sender_id}).one_or_none()
    if resident is None:
        resident = Resident(channel=channel, sender_id=sender_id, code=_new_code(session))
        session.add(resident)
        session.flush()
    return resident


def remember_phone(*, resident: Resident, phone: str, now: datetime) -> None:
    """Keep the resident's phone for next time: only when they said yes, and the consent time is recorded."""
    resident.phone = phone
    resident.consent_at = now


def forget_phone(*, resident: Resident) -> bool:
    """Delete the kept phone (the resident withdrew consent); whether there was one."""
    had = resident.phone is not None
    resident.phone = None
    return had


def _new_code(session: Session) -> str:
    """A short resident code a grid member can type (R + 6 hex digits), unique."""
    while True:
        code = "R" + secrets.token_hex(3).upper()
        if session.scalars(select(Resident.id).filter_by(code=code)).first() is None:
            return code


def import_demo_residents(*, session: Session, data: dict[str, Any]) -> Counter[str]:
    """Create or update the demo residents (who consented, in the demo story)."""
    counts: Counter[str] = Counter()
    try:
        for r in data["residents"]:
            community = session.scalars(select(Community).filter_by(code=r["community"])).one_or_none()
            if community is None:
                raise InvalidRegistry(f"居民 {r['code']} 引用了不存在的社区 {r['community']}")
            resident = upsert(
                session,
                Resident,
                {"code": r["code"]},
                counts,
                channel=r["channel"],
                sender_id=r["sender_id"],
                name=r.get("name"),
                phone=str(r["phone"]) if r.get("phone") else None,
                address=r.get("address"),
                community_id=community.id,
            )
            if resident.consent_at is None:
                resident.consent_at = utcnow()
    except (KeyError, TypeError) as exc:
        raise InvalidRegistry(f"居民文件格式不对：{exc}") from exc
    session.flush()
    return counts
