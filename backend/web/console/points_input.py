"""What the points pages and API read from the staff member: a resident, a community, a month, a number.

A resident or community outside the account's scope is a 404 like a missing
one (:mod:`backend.points.staff_work` keeps community staff to their
community); a month it cannot read is a 400; a form's number that is not
one is refused in Chinese.
"""

from __future__ import annotations

import logging

from fastapi import HTTPException

from backend.errors import DomainError, InvalidInput, NotFound
from backend.models import Community, Resident
from backend.points import staff_work
from backend.web.console.auth import Staff

logger = logging.getLogger(__name__)


def form_number(text: str, what: str) -> int:
    """A form field's whole number; ``what`` names the field in the refusal."""
    try:
        return int(text.strip())
    except ValueError:
        raise InvalidInput(f"{what}请填整数。") from None


def resident_in_scope(me: Staff, reference: str) -> Resident:
    """The resident by code (or kept phone number) within the account's scope, else a 404."""
    try:
        return staff_work.find(session=me.db, account=me.account, reference=reference)
    except NotFound as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from None


def community_in_scope(me: Staff, code: str) -> Community:
    """The community by code (community staff: their own), else a 404."""
    try:
        return staff_work.community_for(session=me.db, account=me.account, code=code)
    except NotFound as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from None


def chosen_month(me: Staff, month: str) -> str:
    """The month asked for (YYYY-MM, this month when empty), else a 400."""
    try:
        return staff_work.month_of(month, me.now)
    except DomainError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from None
