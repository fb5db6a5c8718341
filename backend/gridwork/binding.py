"""Bind a chat to a grid member with a one-time code; find the member behind a chat."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.errors import InvalidInput, NotFound
from backend.models import GridMember
from backend.models.gridwork import BindingCode, MemberLink

CODE_DIGITS = "23456789"
VALID_FOR = timedelta(hours=24)


def issue_code(*, session: Session, member_code: str, now: datetime) -> str:
    """A fresh 8-digit code for the member, valid for a day.

    Raises:
        NotFound: unknown member.
    """
    member = session.scalars(select(GridMember).filter_by(code=member_code)).first()
    if member is None:
        raise NotFound(f"没有这位网格员：{member_code}")
    while True:
        code = "".join(secrets.choice(CODE_DIGITS) for _ in range(8))
        if session.scalars(select(BindingCode.id).filter_by(code=code)).first() is None:
            break
    session.add(BindingCode(member_id=member.id, code=code, expires_at=now + VALID_FOR, created_at=now))
    session.flush()
    return code


def bind(*, session: Session, channel: str, sender_id: str, code: str, now: datetime) -> GridMember:
    """Bind this chat to the code's member; the code is used up.

    Raises:
        InvalidInput: unknown, used or expired code (one answer for all three).
    """
    row = session.scalars(select(BindingCode).filter_by(code=code.strip())).first()
    if row is None or row.used_at is not None or row.expires_at < now:
        raise InvalidInput("绑定码不对或已失效，请向管理员重新要一个（一个码只能用一次，24 小时内有效）。")
    row.used_at = now
    link = session.scalars(select(MemberLink).filter_by(channel=channel, sender_id=sender_id)).first()
    if link is None:
        session.add(MemberLink(member_id=row.member_id, channel=channel, sender_id=sender_id, bound_at=now))
    else:
        link.member_id = row.member_id
        link.bound_at = now
    session.flush()
    member = session.get(GridMember, row.member_id)
    assert member is not None
    return member


def member_for(*, session: Session, channel: str, sender_id: str) -> GridMember | None:
    """The grid member this chat acts as, or None for a resident."""
    link = session.scalars(select(MemberLink).filter_by(channel=channel, sender_id=sender_id)).first()
    return session.get(GridMember, link.member_id) if link is not None else None
